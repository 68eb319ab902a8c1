"""What a run keeps beyond its mean metrics: every user's test metrics, the metrics by user
and item group, and its graph-health numbers.

``per_user.npz`` (``numpy.savez_compressed``, no pickles) holds one row per user with at least
one test item, in increasing internal id:

- ``user``: kgrec's internal user id; ``raw_user``: the dataset's own id of that user, present
  only when the data model has them (``RecData.user_ids``); ``id_kind`` says which ids the
  file is keyed by (``raw`` or ``internal``) and ``metrics.json`` records it too;
- ``train_degree``: the user's number of training interactions; ``user_group``: the index of
  the user's training-degree group (``metrics.json`` "groups" "user_degree" labels);
- one float32 array per metric (``recall@20``, ``ndcg@20``, ...), exactly the values whose
  mean is the run's test metric;
- ``item_group_recall@K`` / ``item_group_share@K``: ``(users, item groups)``, recall on each
  item-popularity group's held-out items (NaN where the user has none there) and the share
  of the top K drawn from the group.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from kgrec.config import EvalConfig
from kgrec.data.recdata import RecData
from kgrec.eval.groups import item_popularity_groups, user_degree_groups
from kgrec.eval.ranking import UserMetrics
from kgrec.interfaces import HEALTH_PREFIXES
from kgrec.train.checkpoint import atomic_write_bytes

PER_USER_FILE = "per_user.npz"


def _clean(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def save_per_user(run_dir: Path, data: RecData, results: UserMetrics,
                  evaluation: EvalConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write ``per_user.npz``; returns its ``metrics.json`` entry and the per-group metrics."""
    users = results.users.numpy().astype(np.int64)
    degree = np.bincount(data.train.users, minlength=data.num_users).astype(np.int64)
    user_groups = user_degree_groups(data.train.users, data.num_users, users, evaluation.user_quantiles)
    arrays: dict[str, np.ndarray] = {"user": users, "train_degree": degree[users],
                                     "user_group": user_groups.index[users]}
    id_kind = "internal"
    if data.user_ids is not None and len(data.user_ids) == data.num_users:
        raw = np.asarray(data.user_ids)[users]
        arrays["raw_user"] = raw if raw.dtype.kind in "iuU" else raw.astype(str)
        id_kind = "raw"
    arrays["id_kind"] = np.array(id_kind)
    for name, values in results.metrics.items():
        arrays[name] = values.numpy().astype(np.float32)
    for name, values in results.item_groups.items():
        arrays[f"item_group_{name}"] = values.numpy().astype(np.float32)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(run_dir / PER_USER_FILE, buffer.getvalue())
    groups: dict[str, Any] = {}
    if len(user_groups.labels) > 0:
        index = arrays["user_group"]
        groups["user_degree"] = {**user_groups.describe(), "metrics": {
            name: [_clean(float(np.mean(arrays[name][index == g], dtype=np.float64)))
                   if user_groups.sizes[g] else None for g in range(len(user_groups.labels))]
            for name in sorted(results.metrics)}}
    if results.item_groups:
        item_groups = item_popularity_groups(data.train.items, data.num_items, evaluation.item_quantiles)
        entry: dict[str, Any] = {**item_groups.describe(), "metrics": {}}
        for name, values in sorted(results.item_groups.items()):
            matrix = values.numpy().astype(np.float64)
            counts = np.sum(~np.isnan(matrix), axis=0)
            sums = np.nansum(matrix, axis=0)
            entry["metrics"][name] = [_clean(s / c) if c else None for s, c in zip(sums, counts)]
            if name.startswith("recall@") and "users" not in entry:
                entry["users"] = [int(c) for c in counts]
        groups["item_popularity"] = entry
    info = {"file": PER_USER_FILE, "ids": id_kind, "users": int(users.shape[0]),
            "metrics": sorted(results.metrics)}
    return info, groups


def load_per_user(run_dir: str | Path) -> dict[str, np.ndarray] | None:
    """A run's per-user arrays (see the module docstring), or None when it has none (runs
    from before kgrec saved them, tuning runs)."""
    path = Path(run_dir) / PER_USER_FILE
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as found:
        return {name: found[name] for name in found.files}


def health_summary(history: Sequence[Mapping[str, Any]], best_epoch: int) -> dict[str, Any]:
    """Per graph-health column of the history: its value at the selected epoch, the last, the
    smallest and the largest over epochs."""
    columns = sorted({k for row in history for k in row if k.startswith(HEALTH_PREFIXES)})
    out = {}
    for name in columns:
        series = [(int(r["epoch"]), float(r[name])) for r in history
                  if r.get(name) not in (None, "") and math.isfinite(float(r[name]))]
        if not series:
            continue
        at_best = [v for e, v in series if e <= best_epoch]
        values = [v for _, v in series]
        out[name] = {"best": at_best[-1] if at_best else None, "last": values[-1],
                     "min": min(values), "max": max(values)}
    return out
