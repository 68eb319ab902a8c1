"""Deterministic splits, vectorised: per user at random (the default), global temporal (one
time cut), per-user temporal (the latest N or fraction), leave-one-out, and the dataset's own.

A split must be reproducible from its seed alone (so runs that share ``split.seed`` compare on
the same test set) and independent of the order rows happen to have in a file: pairs are put
in canonical (user, item) order before any random key is drawn. Each user's pairs are then
shuffled by sorting on random keys within the user, and the first few of each user go to
test, then validation; the rest is training. Low-activity users are served in the order
train, test, validation, so every user with an interaction keeps one to train on.

Every function returns, last, a small dict that says what was done (method, ratios or counts,
seed, time cuts and the sha256 of each resulting split) for :attr:`RecData.split` and the run
record. :func:`split_table` dispatches on ``split.method`` (see :class:`kgrec.config.SplitConfig`).
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
    keys = np.random.default_rng(seed).random(len(users))
    return _holdout_ranked(users, num_users, [(r, 0) for r in ratios], keys)


def _holdout_ranked(users: np.ndarray, num_users: int, parts: Sequence[tuple[float, int]],
                    keys: np.ndarray, *tiebreak: np.ndarray) -> np.ndarray:
    """Label pairs 0 = train, k = k-th held-out part; each part is ``(ratio, n)``: ``n`` pairs
    per user when ``n > 0``, else round(count * ratio) (at least one for a positive ratio).

    Within a user, pairs are held out in increasing ``keys`` (ties by ``tiebreak``, last
    first), so random keys give a seeded shuffle and ``-time`` the latest pairs; a user's last
    remaining pair always stays in train. One sort, no loop over users.
    """
    counts = np.bincount(users, minlength=num_users)
    available = np.maximum(counts - 1, 0)
    takes = []
    for ratio, n in parts:  # a loop over the two or three parts, not over users
        if n > 0:
            want = np.full(num_users, n, dtype=np.int64)
        else:
            want = np.floor(counts * ratio + 0.5).astype(np.int64)
            if ratio > 0:
                want = np.maximum(want, 1)
        take = np.minimum(want, available)
        available -= take
        takes.append(take)
    order = np.lexsort((*tiebreak, keys, users))  # users stay grouped (ascending), keyed within
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


# ---------------------------------------------------------------------------- split.method

PARTS = ("train", "valid", "test")
"""Labels of a dataset's own split, in the codes 0, 1, 2."""


def _parts(users: np.ndarray, items: np.ndarray, labels: np.ndarray,
           codes: tuple[int, int, int] = (0, 1, 2)) -> tuple[Interactions, Interactions, Interactions]:
    """(train, valid, test) from per-pair labels, each sorted by (user, item)."""
    out = []
    for code in codes:
        mask = labels == code
        u, i = users[mask], items[mask]
        order = np.lexsort((i, u))
        out.append(Interactions(u[order], i[order]))
    return out[0], out[1], out[2]


def time_value(value: float | str, what: str) -> float:
    """A time cut as a number: numbers as they are (the time column's units), ISO dates and
    date-times as Unix seconds (the unit kgrec converts date/time columns to)."""
    from kgrec.errors import ConfigError

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return float(np.datetime64(text.replace(" ", "T").rstrip("Z"), "s").astype(np.int64))
    except ValueError:
        raise ConfigError(f"{what} = {value!r} is neither a number nor an ISO date "
                          "(e.g. 2015-01-01 or 2015-01-01T12:00:00)") from None


def _need_time(time: np.ndarray | None, method: str) -> np.ndarray:
    from kgrec.errors import ConfigError

    if time is None:
        raise ConfigError(f"split.method = {method!r} needs interaction times: map the time column "
                          "with data.time (tabular format: --format tabular --set data.time=<column>), "
                          "or use split.method = random")
    return np.asarray(time, dtype=np.float64)


def split_temporal(users: np.ndarray, items: np.ndarray, time: np.ndarray, valid_ratio: float,
                   test_ratio: float, test_from: float | None = None, valid_from: float | None = None
                   ) -> tuple[Interactions, Interactions, Interactions, dict[str, Any]]:
    """One global time cut: pairs at or after the test cut are test, those at or after the
    validation cut (and before the test cut) validation, the rest train.

    A cut given as ``test_from`` / ``valid_from`` is used as is; otherwise it is the time of the
    first of the latest ``round(n * ratio)`` pairs (ties with it go to the later part), taken
    from the pairs before the test cut for validation.
    """
    time = np.asarray(time, dtype=np.float64)
    ordered = np.sort(time)
    n = len(time)

    def cut(ratio: float, below: float) -> float | None:
        pool = ordered[ordered < below]
        take = int(np.floor(n * ratio + 0.5))
        if take <= 0 or len(pool) == 0:
            return None
        return float(pool[max(len(pool) - take, 0)])

    test_cut = test_from if test_from is not None else cut(test_ratio, np.inf)
    valid_cut = valid_from if valid_from is not None else cut(
        valid_ratio, test_cut if test_cut is not None else np.inf)
    labels = np.zeros(n, dtype=np.int8)
    if valid_cut is not None:
        labels[time >= valid_cut] = 1
    if test_cut is not None:
        labels[time >= test_cut] = 2
    train, valid, test = _parts(np.asarray(users, np.int64), np.asarray(items, np.int64), labels)
    info = {"method": "temporal", "valid_ratio": float(valid_ratio), "test_ratio": float(test_ratio),
            "test_from": test_cut, "valid_from": valid_cut,
            "sha256": split_digests(train=train, valid=valid, test=test)}
    # users and items first seen after the cut: kept (scored from untrained embeddings), counted
    for name, part in (("valid", valid), ("test", test)):
        info[f"cold_{name}_pairs"] = {
            "users": int((~np.isin(part.users, train.users)).sum()),
            "items": int((~np.isin(part.items, train.items)).sum())}
    return train, valid, test, info


def split_per_user_ordered(users: np.ndarray, items: np.ndarray, num_users: int,
                           time: np.ndarray | None, valid: tuple[float, int], test: tuple[float, int],
                           seed: int, method: str
                           ) -> tuple[Interactions, Interactions, Interactions, dict[str, Any]]:
    """Per user, hold out the latest pairs by ``time`` (ties broken by a seeded shuffle) or,
    with ``time`` None, a seeded random choice: ``test`` then ``valid``, each ``(ratio, n)``."""
    users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
    order = np.lexsort((items, users))  # canonical: independent of the file's row order
    users, items = users[order], items[order]
    shuffle = np.random.default_rng(seed).random(len(users))
    if time is None:
        labels = _holdout_ranked(users, num_users, (test, valid), shuffle)
    else:
        latest_first = -np.asarray(time, dtype=np.float64)[order]
        labels = _holdout_ranked(users, num_users, (test, valid), latest_first, shuffle)
    train_p, test_p, valid_p = (Interactions(users[labels == k], items[labels == k]) for k in range(3))
    info: dict[str, Any] = {"method": method, "order": "time" if time is not None else "random",
                            "seed": int(seed)}
    for name, (ratio, n) in (("valid", valid), ("test", test)):
        info.update({f"{name}_n": int(n)} if n > 0 else {f"{name}_ratio": float(ratio)})
    info["sha256"] = split_digests(train=train_p, valid=valid_p, test=test_p)
    return train_p, valid_p, test_p, info


def split_given(users: np.ndarray, items: np.ndarray, labels: np.ndarray, num_users: int,
                valid_ratio: float, seed: int
                ) -> tuple[Interactions, Interactions, Interactions, dict[str, Any]]:
    """The dataset's own split (labels 0 train, 1 valid, 2 test); without validation pairs, a
    validation part is carved from train per user (``valid_ratio``, ``seed``)."""
    users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
    train, valid, test = _parts(users, items, np.asarray(labels))
    if len(valid) == 0 and valid_ratio > 0:
        train, valid, carved = carve_validation(train, valid_ratio, seed, num_users)
        return train, valid, test, {"method": "given+carved_validation", "valid_ratio": float(valid_ratio),
                                    "seed": int(seed),
                                    "sha256": split_digests(train=train, valid=valid, test=test)}
    return train, valid, test, {"method": "given", "sha256": split_digests(train=train, valid=valid, test=test)}


def split_table(users: np.ndarray, items: np.ndarray, num_users: int, config,
                time: np.ndarray | None = None, labels: np.ndarray | None = None
                ) -> tuple[Interactions, Interactions, Interactions, dict[str, Any]]:
    """Split unique (user, item) pairs by ``config.method`` (a :class:`~kgrec.config.SplitConfig`).

    ``time`` (one per pair) is needed by the temporal methods and leave-one-out by time;
    ``labels`` (0 train, 1 valid, 2 test) is the dataset's own split, used by ``given`` and by
    ``auto``. Every result is sorted by (user, item); the info records the method and its
    settings so that the run can be repeated.
    """
    from kgrec.errors import ConfigError

    method = config.method
    if method == "auto":
        method = "given" if labels is not None else "random"
    if method == "given":
        if labels is None:
            raise ConfigError("split.method = 'given' but the dataset has no split of its own (give "
                              "data.split_column, or data.valid_file / data.test_file, or use "
                              "split.method = random)")
        return split_given(users, items, labels, num_users, config.valid_ratio, config.seed)
    if method == "random" and not (config.valid_n or config.test_n):
        return split_per_user(users, items, num_users, config.valid_ratio, config.test_ratio, config.seed)
    if method == "random":
        return split_per_user_ordered(users, items, num_users, None, (config.valid_ratio, config.valid_n),
                                      (config.test_ratio, config.test_n), config.seed, "random")
    if method == "temporal":
        time = _need_time(time, method)
        test_from = None if config.test_from is None else time_value(config.test_from, "split.test_from")
        valid_from = None if config.valid_from is None else time_value(config.valid_from, "split.valid_from")
        if test_from is not None and valid_from is not None and valid_from > test_from:
            raise ConfigError(f"split.valid_from ({config.valid_from}) is after split.test_from "
                              f"({config.test_from}); validation comes before test")
        return split_temporal(users, items, time, config.valid_ratio, config.test_ratio, test_from, valid_from)
    if method == "user_temporal":
        return split_per_user_ordered(users, items, num_users, _need_time(time, method),
                                      (config.valid_ratio, config.valid_n),
                                      (config.test_ratio, config.test_n), config.seed, "user_temporal")
    if method == "leave_one_out":
        by_time = config.order == "time"
        if by_time and time is None:
            raise ConfigError("split.method = 'leave_one_out' holds out each user's latest pair and "
                              "needs interaction times: map data.time, or set split.order = random")
        valid_n = 1 if config.valid_ratio > 0 or config.valid_n else 0
        return split_per_user_ordered(users, items, num_users, time if by_time else None,
                                      (0.0, valid_n), (0.0, 1), config.seed, "leave_one_out")
    raise ConfigError(f"unknown split.method {config.method!r}")
