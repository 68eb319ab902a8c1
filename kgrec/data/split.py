"""Deterministic per-user random splits, vectorised.

A split must be reproducible from its seed alone (so runs that share ``split.seed`` compare on
the same test set) and independent of the order rows happen to have in a file: pairs are put
in canonical (user, item) order before any random key is drawn. Each user's pairs are then
shuffled by sorting on random keys within the user, and the first few of each user go to
test, then validation; the rest is training. Low-activity users are served in the order
train, test, validation, so every user with an interaction keeps one to train on.

Both functions return, last, a small dict that says what was done (method, ratios, seed and
the sha256 of each resulting split) for :attr:`RecData.split` and the run record.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import numpy as np

from kgrec.data.recdata import Interactions


def pairs_sha256(part: Interactions) -> str:
    """sha256 of a split's (users, items) as little-endian int64: a cheap identity for a split."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(part.users, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(part.items, dtype="<i8").tobytes())
    return h.hexdigest()


def split_digests(**parts: Interactions) -> dict[str, str]:
    return {name: pairs_sha256(part) for name, part in parts.items()}


def _canonical(users: np.ndarray, items: np.ndarray, num_users: int) -> tuple[np.ndarray, np.ndarray]:
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    if users.shape != items.shape or users.ndim != 1:
        raise ValueError("users and items must be 1-d arrays of equal length")
    if len(users) and (users.min() < 0 or users.max() >= num_users):
        raise ValueError(f"user ids must lie in [0, {num_users})")
    order = np.lexsort((items, users))
    return users[order], items[order]


def _holdout_parts(users: np.ndarray, num_users: int, ratios: Sequence[float],
                   seed: int) -> np.ndarray:
    """Label each (canonically ordered) pair 0 = train, k = k-th held-out part.

    Per user with n pairs, part k takes round(n * ratio_k), at least one when its ratio is
    positive, but never the user's last remaining pair (parts earlier in ``ratios`` first).
    """
    counts = np.bincount(users, minlength=num_users)
    available = np.maximum(counts - 1, 0)
    takes = []
    for ratio in ratios:  # a loop over the two or three parts, not over users
        want = np.floor(counts * ratio + 0.5).astype(np.int64)
        if ratio > 0:
            want = np.maximum(want, 1)
        take = np.minimum(want, available)
        available -= take
        takes.append(take)
    keys = np.random.default_rng(seed).random(len(users))
    order = np.lexsort((keys, users))  # users stay grouped (ascending), shuffled within
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.arange(len(users)) - starts[users[order]]
    labels = np.zeros(len(users), dtype=np.int8)
    bound = np.zeros(num_users, dtype=np.int64)
    for k, take in enumerate(takes, start=1):
        lo, bound = bound, bound + take
        labels[(rank >= lo[users]) & (rank < bound[users])] = k
    return labels


def split_per_user(users: np.ndarray, items: np.ndarray, num_users: int, valid_ratio: float,
                   test_ratio: float, seed: int
                   ) -> tuple[Interactions, Interactions, Interactions, dict[str, Any]]:
    """Split positive pairs per user into (train, valid, test, info).

    Pairs are expected to be unique (loaders drop duplicates first, see
    :func:`kgrec.data.checks.drop_duplicate_pairs`); each split comes back sorted by
    (user, item).
    """
    if not (0 <= valid_ratio < 1 and 0 <= test_ratio < 1 and valid_ratio + test_ratio < 1):
        raise ValueError("split ratios must be in [0, 1) and leave a training part")
    users, items = _canonical(users, items, num_users)
    labels = _holdout_parts(users, num_users, (test_ratio, valid_ratio), seed)
    train, test, valid = (Interactions(users[labels == k], items[labels == k]) for k in range(3))
    info = {"method": "per_user_random", "valid_ratio": float(valid_ratio),
            "test_ratio": float(test_ratio), "seed": int(seed),
            "sha256": split_digests(train=train, valid=valid, test=test)}
    return train, valid, test, info


def carve_validation(train: Interactions, ratio: float, seed: int,
                     num_users: int | None = None) -> tuple[Interactions, Interactions, dict[str, Any]]:
    """Carve a validation part out of a given training split: (train, valid, info).

    For formats that ship only train/test: the test set stays untouched, and each user keeps
    at least one training pair.
    """
    if not 0 <= ratio < 1:
        raise ValueError("validation ratio must be in [0, 1)")
    if num_users is None:
        num_users = int(train.users.max()) + 1 if len(train) else 0
    users, items = _canonical(train.users, train.items, num_users)
    labels = _holdout_parts(users, num_users, (ratio,), seed)
    new_train = Interactions(users[labels == 0], items[labels == 0])
    valid = Interactions(users[labels == 1], items[labels == 1])
    info = {"method": "carved_validation", "valid_ratio": float(ratio), "seed": int(seed),
            "sha256": split_digests(train=new_train, valid=valid)}
    return new_train, valid, info
