"""Vectorised BPR triples: every training positive once per epoch, with a negative that is
never one of that user's training positives."""

from __future__ import annotations

from typing import Iterator

import torch
from torch import Tensor

from kgrec.errors import KgrecError
from kgrec.interfaces import Batch


class BPRSampler:
    """Shuffles positives and draws uniform negatives by rejection, a whole batch at a time.

    Membership is a binary search over sorted ``user * num_items + item`` keys, so a
    rejection round costs ``O(B log N)`` and no Python loop touches a single sample.
    """

    MAX_ROUNDS = 100

    def __init__(self, users: Tensor, items: Tensor, num_items: int):
        self.users = users
        self.items = items
        self.num_items = num_items
        self.keys = torch.sort(users * num_items + items).values
        full = torch.bincount(users) >= num_items
        if bool(full.any()):
            raise KgrecError(f"user {int(torch.nonzero(full)[0])} interacted with every item: "
                             "no negative can be sampled")

    def is_positive(self, users: Tensor, items: Tensor) -> Tensor:
        keys = users * self.num_items + items
        pos = torch.searchsorted(self.keys, keys).clamp(max=self.keys.shape[0] - 1)
        return self.keys[pos] == keys

    def negatives(self, users: Tensor, generator: torch.Generator) -> Tensor:
        neg = torch.randint(self.num_items, users.shape, generator=generator).to(users.device)
        for _ in range(self.MAX_ROUNDS):
            bad = self.is_positive(users, neg)
            if not bool(bad.any()):
                return neg
            redraw = torch.randint(self.num_items, (int(bad.sum()),), generator=generator)
            neg[bad] = redraw.to(users.device)
        raise KgrecError("negative sampling did not converge: the training matrix is nearly full")

    def epoch(self, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        order = torch.randperm(self.users.shape[0], generator=generator).to(self.users.device)
        for start in range(0, order.shape[0], batch_size):
            idx = order[start:start + batch_size]
            users = self.users[idx]
            yield Batch(users, self.items[idx], self.negatives(users, generator))

    def num_batches(self, batch_size: int) -> int:
        return -(-int(self.users.shape[0]) // batch_size)
