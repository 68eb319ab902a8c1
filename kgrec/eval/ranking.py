"""Batched full ranking: score a block of users against every item, mask, take top K.

Only one ``(batch, num_items)`` block exists at a time, its batch sized to the free memory
(:func:`kgrec.fit_batch_size`); known positives are masked by
scattering ``-inf`` at CSR-gathered positions, with no loop over users.
"""

from __future__ import annotations

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


@torch.no_grad()
def evaluate(score: Callable[[Tensor], Tensor], truth: Positives, exclude: Positives,
             num_items: int, ks: tuple[int, ...], batch_size: int) -> dict[str, float]:
    """Mean of every metric over the users that have at least one held-out item.

    ``score(users)`` returns ``(B, num_items)`` scores; ``exclude`` holds the positives that
    must not be ranked (training, plus validation at test time).
    """
    device = truth.indptr.device
    users_all = torch.nonzero(truth.counts > 0).view(-1)
    kmax = min(max(ks), num_items)
    batch_size = fit_batch_size(int(users_all.shape[0]), num_items * SCORE_ROW_BYTES_PER_ITEM,
                                batch_size, device=device, setting="train.eval_batch_size")
    per_user: dict[str, list[Tensor]] = {}
    for start in range(0, users_all.shape[0], batch_size):
        users = users_all[start:start + batch_size]
        scores = score(users).float()
        rows, items = exclude.gather(users)
        scores[rows, items] = float("-inf")
        top = torch.topk(scores, kmax, dim=1).indices
        relevant = torch.zeros_like(scores, dtype=torch.bool)
        rows, items = truth.gather(users)
        relevant[rows, items] = True
        hits = torch.gather(relevant, 1, top)
        for name, values in ranking_metrics(hits, truth.counts[users], ks).items():
            per_user.setdefault(name, []).append(values)
    # one float64 sum over all users: the result does not depend on how they were batched
    n = max(int(users_all.shape[0]), 1)
    return {name: float(torch.cat(parts).double().sum()) / n for name, parts in sorted(per_user.items())}
