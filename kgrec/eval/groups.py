"""User and item groups for per-group evaluation: users by training degree, items by
training popularity. Pure numpy on the training split, so a run and a report agree.

- **Users by training degree** (``eval.user_quantiles``, cut points in (0, 1)): the cut
  points are quantiles of the training degree of the evaluated users; group ``g`` holds the
  users whose degree lies in ``(cut[g-1], cut[g]]``. Users with the same degree are always
  in the same group, so with many ties there may be fewer groups than asked for (repeated
  cut points collapse).
- **Items by training popularity** (``eval.item_quantiles``): items are ranked by their
  number of training interactions (ties by item id) and cut at those shares of the
  catalogue: ``(0.5, 0.8)`` gives the least popular 50 %, the next 30 % and the most
  popular 20 % of items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class Groups:
    """A partition of users (or items) into labelled groups."""

    kind: str
    """``user_degree`` or ``item_popularity``."""
    labels: tuple[str, ...]
    index: np.ndarray
    """Group of every user (or item), ``0..G-1``; -1 for users outside every group (no
    held-out item)."""
    low: tuple[int, ...]
    """Smallest training degree (popularity) in each group."""
    high: tuple[int, ...]
    """Largest training degree (popularity) in each group."""
    sizes: tuple[int, ...]
    """Users (items) in each group."""

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "labels": list(self.labels), "low": list(self.low),
                "high": list(self.high), "sizes": list(self.sizes)}


def _check(quantiles: Sequence[float], what: str) -> np.ndarray:
    q = np.asarray(sorted(quantiles), dtype=np.float64)
    if np.any((q <= 0) | (q >= 1)):
        raise ValueError(f"{what} cut points must lie in (0, 1)")
    return q


def user_degree_groups(train_users: np.ndarray, num_users: int, eval_users: np.ndarray,
                       quantiles: Sequence[float]) -> Groups:
    """Users with a held-out item (``eval_users``) grouped by their training degree."""
    q = _check(quantiles, "eval.user_quantiles")
    degree = np.bincount(train_users, minlength=num_users).astype(np.int64)
    index = np.full(num_users, -1, dtype=np.int64)
    if len(eval_users) == 0:
        return Groups("user_degree", (), index, (), (), ())
    d = degree[eval_users]
    cuts = np.unique(np.quantile(d, q, method="lower")) if len(q) else np.zeros(0, np.int64)
    cuts = cuts[(cuts >= d.min()) & (cuts < d.max())]
    group = np.searchsorted(cuts, d, side="left")
    index[eval_users] = group
    labels, low, high, sizes = [], [], [], []
    for g in range(len(cuts) + 1):
        members = d[group == g]
        lo, hi = int(members.min()), int(members.max())
        labels.append(f"degree {lo}" if lo == hi else f"degree {lo}-{hi}")
        low.append(lo)
        high.append(hi)
        sizes.append(int(members.size))
    return Groups("user_degree", tuple(labels), index, tuple(low), tuple(high), tuple(sizes))


def item_popularity_groups(train_items: np.ndarray, num_items: int,
                           quantiles: Sequence[float]) -> Groups:
    """Items ranked by training popularity (ties by id), cut at shares ``quantiles`` of the
    catalogue; group 0 is the least popular."""
    q = _check(quantiles, "eval.item_quantiles")
    popularity = np.bincount(train_items, minlength=num_items).astype(np.int64)
    order = np.lexsort((np.arange(num_items), popularity))
    position = np.arange(num_items) / max(num_items, 1)
    index = np.empty(num_items, dtype=np.int64)
    index[order] = np.searchsorted(q, position, side="right")
    bounds = [0.0] + list(q) + [1.0]
    labels, low, high, sizes = [], [], [], []
    for g in range(len(q) + 1):
        members = popularity[index == g]
        labels.append(f"items {bounds[g] * 100:g}-{bounds[g + 1] * 100:g}% by popularity")
        low.append(int(members.min()) if members.size else 0)
        high.append(int(members.max()) if members.size else 0)
        sizes.append(int(members.size))
    return Groups("item_popularity", tuple(labels), index, tuple(low), tuple(high), tuple(sizes))
