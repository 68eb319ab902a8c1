"""Summary statistics of a dataset, for ``kgrec datasets info`` and run records.

Plain JSON-able numbers, so the CLI can print them as a table or as JSON unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kgrec.data.recdata import RecData


def _per_user(users: np.ndarray, num_users: int) -> dict[str, float]:
    counts = np.bincount(users, minlength=num_users)
    active = counts[counts > 0]
    if len(active) == 0:
        return {"min": 0, "median": 0.0, "max": 0}
    return {"min": int(active.min()), "median": float(np.median(active)), "max": int(active.max())}


def describe(data: RecData) -> dict[str, Any]:
    """Sizes, density and side data of ``data``; per-user counts are over users with any
    interaction (all splits together)."""
    parts = {"train": data.train, "valid": data.valid, "test": data.test}
    users = np.concatenate([p.users for p in parts.values()])
    total = int(len(users))
    out: dict[str, Any] = {
        "name": data.name,
        "source": data.source,
        "users": data.num_users,
        "items": data.num_items,
        "interactions": {**{k: len(p) for k, p in parts.items()}, "total": total},
        "density": total / (data.num_users * data.num_items) if data.num_users and data.num_items else 0.0,
        "active_users": int(len(np.unique(users))),
        "interactions_per_user": _per_user(users, data.num_users),
        "split": data.split.get("method", "unknown") if data.split else "unknown",
    }
    if data.kg is not None:
        kg = data.kg
        out["kg"] = {"entities": kg.num_entities, "relations": kg.num_relations, "triples": len(kg),
                     "items_linked": int((kg.item_entity >= 0).sum()),
                     "items_in_triples": int(np.isin(kg.item_entity[kg.item_entity >= 0],
                                                     np.concatenate([kg.heads, kg.tails])).sum())}
    if data.social is not None:
        social = data.social
        out["social"] = {"ties": len(social),
                         "users_with_ties": int(len(np.unique(np.concatenate([social.src, social.dst]))))}
    out["modalities"] = {name: int(np.shape(m)[1]) for name, m in data.modalities.items()}
    return out
