"""The teacher phase's batches and its validation ranking, vectorised.

The reference's ``Data.sample`` (``codes/utility/load_data.py``) draws each batch afresh:
``batch_size`` distinct users (uniform over users with training items; with replacement only
when the batch is larger than that), for each one training positive and one negative that is
not a training positive, uniformly; an epoch is ``n_train // batch_size + 1`` such batches
(main.py:400-417). :class:`UserBatches` draws the same distribution with tensor operations.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch import Tensor


class PairIndex:
    """A user-item pair set in CSR form: membership tests and per-user rows, no Python loops."""

    def __init__(self, users: np.ndarray, items: np.ndarray, num_users: int, num_items: int,
                 device: torch.device):
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        keys = np.unique(users * num_items + items)
        self.num_users, self.num_items = num_users, num_items
        self.keys = torch.as_tensor(keys, device=device)
        rows = keys // num_items
        counts = np.bincount(rows, minlength=num_users)
        self.counts = torch.as_tensor(counts, device=device)
        self.indptr = torch.as_tensor(np.concatenate([[0], np.cumsum(counts)]), device=device)
        self.items = torch.as_tensor(keys % num_items, device=device)

    def contains(self, u: Tensor, i: Tensor) -> Tensor:
        """Whether each ``(u, i)`` is in the set. Shapes: ``(n,)`` each, out ``(n,)`` bool."""
        if self.keys.numel() == 0:
            return torch.zeros_like(u, dtype=torch.bool)
        key = u * self.num_items + i
        at = torch.searchsorted(self.keys, key).clamp(max=self.keys.numel() - 1)
        return self.keys[at] == key

    def gather(self, users: Tensor) -> tuple[Tensor, Tensor]:
        """``(row, item)`` for every pair of ``users[row]``."""
        counts = self.counts[users]
        rows = torch.repeat_interleave(torch.arange(users.shape[0], device=users.device), counts)
        starts = torch.repeat_interleave(self.indptr[users], counts)
        offsets = torch.arange(rows.shape[0], device=users.device) - torch.repeat_interleave(
            torch.cumsum(counts, 0) - counts, counts)
        return rows, self.items[starts + offsets]


class UserBatches:
    """The reference's teacher batches: distinct users, one positive and one negative each."""

    def __init__(self, train: PairIndex):
        self.train = train
        self.users = torch.nonzero(train.counts > 0).view(-1)
        if self.users.numel() == 0:
            raise ValueError("no user has a training interaction")
        if train.counts.max() >= train.num_items:
            raise ValueError("a user has interacted with every item: no negative can be drawn")

    def num_batches(self, batch_size: int) -> int:
        return int(self.train.keys.numel()) // batch_size + 1

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        device = self.users.device
        n = self.users.numel()
        if batch_size <= n:
            pick = torch.randperm(n, generator=generator)[:batch_size]
        else:
            pick = torch.randint(0, n, (batch_size,), generator=generator)
        u = self.users[pick.to(device)]
        offset = (torch.rand(batch_size, generator=generator).to(device) * self.train.counts[u]).long()
        offset = torch.minimum(offset, self.train.counts[u] - 1)
        pos = self.train.items[self.train.indptr[u] + offset]
        neg = self.negatives(u, generator)
        return u, pos, neg

    def negatives(self, u: Tensor, generator: torch.Generator) -> Tensor:
        """One uniform item per user that is not a training positive of that user (rejection
        sampling: redraw only the rejected entries until none is left)."""
        neg = torch.randint(0, self.train.num_items, u.shape, generator=generator).to(u.device)
        bad = self.train.contains(u, neg)
        while bool(bad.any()):
            index = torch.nonzero(bad).view(-1)
            neg[index] = torch.randint(0, self.train.num_items, (index.numel(),),
                                       generator=generator).to(u.device)
            bad[index] = self.train.contains(u[index], neg[index])
        return neg

    def epoch(self, batch_size: int, generator: torch.Generator) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        for _ in range(self.num_batches(batch_size)):
            yield self.batch(batch_size, generator)


@torch.no_grad()
def recall_at_k(users_emb: Tensor, items_emb: Tensor, truth: PairIndex, exclude: PairIndex, k: int,
                block: int = 1024) -> float:
    """Mean Recall@K (hits in the top K / held-out items) over the users with held-out items,
    ranking every item except the ``exclude`` pairs, as kgrec's evaluation does."""
    users_all = torch.nonzero(truth.counts > 0).view(-1)
    if users_all.numel() == 0:
        return 0.0
    kk = min(k, items_emb.shape[0])
    total = 0.0
    for start in range(0, users_all.numel(), block):
        users = users_all[start:start + block]
        scores = users_emb[users] @ items_emb.T
        rows, items = exclude.gather(users)
        scores[rows, items] = float("-inf")
        top = torch.topk(scores, kk, dim=1).indices
        relevant = torch.zeros_like(scores, dtype=torch.bool)
        rows, items = truth.gather(users)
        relevant[rows, items] = True
        hits = torch.gather(relevant, 1, top).sum(1).double()
        total += float((hits / truth.counts[users].double()).sum())
    return total / users_all.numel()
