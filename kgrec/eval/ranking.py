"""Batched full ranking: score a block of users against every item, mask, take top K.

Only one ``(batch, num_items)`` block exists at a time, its batch sized to the free memory
(:func:`kgrec.fit_batch_size`); known positives are masked by
scattering ``-inf`` at CSR-gathered positions, with no loop over users.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from kgrec.data.recdata import Interactions
from kgrec.eval.metrics import ranking_metrics
from kgrec.memory import fit_batch_size

SCORE_ROW_BYTES_PER_ITEM = 13
"""Peak bytes per (user, item) entry of one scored block: the float32 scores, a float32 copy
or temporary made by ``score`` and the boolean relevance mask, with a float32 of headroom."""


class Positives:
    """Per-user item sets in CSR form on a device, gathered for a batch of users at once."""

    def __init__(self, parts: list[Interactions], num_users: int, device: torch.device):
        users = np.concatenate([p.users for p in parts]) if parts else np.zeros(0, np.int64)
        items = np.concatenate([p.items for p in parts]) if parts else np.zeros(0, np.int64)
        order = np.lexsort((items, users))
        counts = np.bincount(users, minlength=num_users)
        self.indptr = torch.as_tensor(np.concatenate([[0], np.cumsum(counts)]), device=device)
        self.indices = torch.as_tensor(items[order], device=device)
        self.counts = torch.as_tensor(counts, device=device)

    def gather(self, users: Tensor) -> tuple[Tensor, Tensor]:
        """``(row, item)`` pairs: row ``b`` of the batch has each positive item of ``users[b]``."""
        counts = self.counts[users]
        rows = torch.repeat_interleave(torch.arange(users.shape[0], device=users.device), counts)
        starts = torch.repeat_interleave(self.indptr[users], counts)
        offsets = torch.arange(rows.shape[0], device=users.device) - torch.repeat_interleave(
            torch.cumsum(counts, 0) - counts, counts)
        return rows, self.indices[starts + offsets]


@dataclass
class UserMetrics:
    """Per-user results of one full-ranking evaluation (CPU tensors, one row per user with at
    least one held-out item, in increasing user order).

    ``metrics[name]`` is ``(n,)``; ``item_groups[name]`` (only when item groups were given) is
    ``(n, G)``: ``recall@K`` restricted to the held-out items of each item group (NaN where
    the user has none there) and ``share@K``, the share of the top K drawn from each group.
    """

    users: Tensor
    metrics: dict[str, Tensor]
    item_groups: dict[str, Tensor] = field(default_factory=dict)

    def means(self) -> dict[str, float]:
        """Mean of every metric over the users: one float64 sum, so the result does not
        depend on how users were batched."""
        n = max(int(self.users.shape[0]), 1)
        return {name: float(values.double().sum()) / n for name, values in sorted(self.metrics.items())}


@torch.no_grad()
def evaluate(score: Callable[[Tensor], Tensor], truth: Positives, exclude: Positives,
             num_items: int, ks: tuple[int, ...], batch_size: int,
             candidates: Positives | None = None) -> dict[str, float]:
    """Mean of every metric over the users that have at least one held-out item.

    ``score(users)`` returns ``(B, num_items)`` scores; ``exclude`` holds the positives that
    must not be ranked (training, plus validation at test time). ``candidates`` (sampled
    evaluation, :mod:`kgrec.eval.sampled`): each user's sampled negatives; only they and the
    user's held-out items are ranked.
    """
    return evaluate_users(score, truth, exclude, num_items, ks, batch_size,
                          candidates=candidates).means()


@torch.no_grad()
def evaluate_users(score: Callable[[Tensor], Tensor], truth: Positives, exclude: Positives,
                   num_items: int, ks: tuple[int, ...], batch_size: int,
                   item_group: Tensor | None = None, num_groups: int | None = None,
                   candidates: Positives | None = None) -> UserMetrics:
    """:func:`evaluate`, keeping every user's metrics; with ``item_group`` (``(I,)`` group index
    per item, ``0..G-1``; ``num_groups`` = G, default its largest index + 1) also each user's
    recall and top-K share per item group; with ``candidates``, the sampled protocol."""
    device = truth.indptr.device
    users_all = torch.nonzero(truth.counts > 0).view(-1)
    kmax = min(max(ks), num_items)
    batch_size = fit_batch_size(int(users_all.shape[0]), num_items * SCORE_ROW_BYTES_PER_ITEM,
                                batch_size, device=device, setting="train.eval_batch_size")
    groups = 0
    if item_group is not None and item_group.numel():
        groups = num_groups if num_groups is not None else int(item_group.max()) + 1
    if groups:
        item_group = item_group.to(device)
    per_user: dict[str, list[Tensor]] = {}
    per_group: dict[str, list[Tensor]] = {}
    for start in range(0, users_all.shape[0], batch_size):
        users = users_all[start:start + batch_size]
        scores = score(users).float()
        rows, items = exclude.gather(users)
        scores[rows, items] = float("-inf")
        relevant = torch.zeros_like(scores, dtype=torch.bool)
        rows, items = truth.gather(users)
        relevant[rows, items] = True
        if candidates is not None:  # sampled protocol: only negatives and held-out items compete
            ranked = relevant.clone()
            c_rows, c_items = candidates.gather(users)
            ranked[c_rows, c_items] = True
            scores.masked_fill_(~ranked, float("-inf"))
            del ranked
        top = torch.topk(scores, kmax, dim=1).indices
        hits = torch.gather(relevant, 1, top)
        for name, values in ranking_metrics(hits, truth.counts[users], ks).items():
            per_user.setdefault(name, []).append(values.cpu())
        if groups:
            del scores, relevant
            for name, values in group_metrics(hits, top, rows, item_group[items], item_group,
                                              users.shape[0], groups, ks).items():
                per_group.setdefault(name, []).append(values.cpu())
    return UserMetrics(users_all.cpu(), {k: torch.cat(v) for k, v in per_user.items()},
                       {k: torch.cat(v) for k, v in per_group.items()})


def group_metrics(hits: Tensor, top: Tensor, truth_rows: Tensor, truth_groups: Tensor,
                  item_group: Tensor, batch: int, groups: int, ks: tuple[int, ...]) -> dict[str, Tensor]:
    """Per user and item group, ``(B, G)``: ``recall@K`` over the held-out items of the group
    (NaN where the user has none there) and ``share@K``, the share of the top K in the group."""
    relevant = torch.zeros(batch, groups, device=hits.device)
    relevant.index_put_((truth_rows, truth_groups), torch.ones_like(truth_rows, dtype=torch.float),
                        accumulate=True)
    one_hot = torch.nn.functional.one_hot(item_group[top], groups).float()  # (B, Kmax, G)
    out = {}
    for k in ks:
        kk = min(k, top.shape[1])
        found = (one_hot[:, :kk] * hits[:, :kk, None].float()).sum(1)
        recall = found / relevant.clamp(min=1)
        out[f"recall@{k}"] = torch.where(relevant > 0, recall, torch.full_like(recall, float("nan")))
        out[f"share@{k}"] = one_hot[:, :kk].sum(1) / k
    return out
