"""Validation every loader shares, so that every format fails (or repairs) the same way.

Fatal problems (an id out of range, a feature matrix of the wrong shape) raise
:class:`~kgrec.errors.DataError` naming the file. Two harmless, common defects are repaired
with a :class:`DataRepairWarning` naming the file and the count, as documented in
``docs/data-format.md``: duplicate pairs are dropped (they would double-weight a positive), and
so are social self-loops (a user "trusting" itself carries no signal).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from kgrec.errors import DataError

PathLike = str | Path


class DataRepairWarning(UserWarning):
    """A loader changed the data to fix a harmless defect; the message says what and where."""


def check_range(path: PathLike, values: np.ndarray, upper: int, what: str,
                lines: np.ndarray | None = None, lower: int = 0) -> np.ndarray:
    """Require ``lower <= values < upper``; returns ``values`` as int64."""
    values = np.asarray(values, dtype=np.int64)
    bad = (values < lower) | (values >= upper)
    if bad.any():
        i = int(np.argmax(bad))
        line = int(lines[i]) if lines is not None else None
        raise DataError(path, f"{what} {int(values[i])} out of range [{lower}, {upper})", line=line)
    return values


def _pair_keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    width = int(b.max()) + 1 if len(b) else 1
    return a.astype(np.int64) * width + b.astype(np.int64)


def drop_duplicate_pairs(path: PathLike, a: np.ndarray, b: np.ndarray,
                         what: str = "interaction") -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated (a, b) pairs, keeping the first occurrence, in the original order."""
    if len(a) == 0:
        return a, b
    _, first = np.unique(_pair_keys(a, b), return_index=True)
    if len(first) == len(a):
        return a, b
    keep = np.sort(first)
    warnings.warn(f"{path}: dropped {len(a) - len(keep)} duplicate {what} pairs",
                  DataRepairWarning, stacklevel=2)
    return a[keep], b[keep]


def drop_duplicate_triples(path: PathLike, heads: np.ndarray, relations: np.ndarray,
                           tails: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop repeated (head, relation, tail) triples, keeping the first, with a warning."""
    if len(heads) == 0:
        return heads, relations, tails
    table = np.stack([heads, relations, tails], axis=1).astype(np.int64)
    _, first = np.unique(table, axis=0, return_index=True)
    if len(first) == len(heads):
        return heads, relations, tails
    keep = np.sort(first)
    warnings.warn(f"{path}: dropped {len(heads) - len(keep)} duplicate triples",
                  DataRepairWarning, stacklevel=2)
    return heads[keep], relations[keep], tails[keep]


def drop_self_loops(path: PathLike, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop social ties from a user to itself, with a warning."""
    loops = src == dst
    if loops.any():
        warnings.warn(f"{path}: dropped {int(loops.sum())} social self-loops",
                      DataRepairWarning, stacklevel=2)
        return src[~loops], dst[~loops]
    return src, dst


def drop_overlap(path: PathLike, train_users: np.ndarray, train_items: np.ndarray,
                 users: np.ndarray, items: np.ndarray, part: str) -> tuple[np.ndarray, np.ndarray]:
    """Drop held-out pairs that are also training pairs (they could never be ranked: full
    ranking masks training items), with a warning."""
    if len(users) == 0 or len(train_users) == 0:
        return users, items
    width = int(max(train_items.max(), items.max())) + 1
    seen = np.isin(users.astype(np.int64) * width + items, train_users.astype(np.int64) * width + train_items)
    if seen.any():
        warnings.warn(f"{path}: dropped {int(seen.sum())} {part} pairs that are also training pairs",
                      DataRepairWarning, stacklevel=2)
        return users[~seen], items[~seen]
    return users, items


def check_features(path: PathLike, matrix: np.ndarray, num_items: int) -> np.ndarray:
    """A modality's items x dim matrix as finite float32, or a DataError naming the file.

    float16 releases (DiffMM's TikTok) are upcast: float16 sums overflow and lose precision.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise DataError(path, f"feature matrix must be 2-d (items x dim), got shape {matrix.shape}")
    if matrix.shape[0] != num_items:
        raise DataError(path, f"feature matrix has {matrix.shape[0]} rows, expected one per item "
                              f"({num_items})")
    if matrix.shape[1] == 0:
        raise DataError(path, "feature matrix has 0 columns")
    if matrix.dtype.kind not in "fiu":
        raise DataError(path, f"feature matrix must be numeric, got dtype {matrix.dtype}")
    out = matrix.astype(np.float32)
    if not np.isfinite(out).all():
        row = int(np.argmax(~np.isfinite(out).all(axis=1)))
        raise DataError(path, f"feature matrix has a non-finite value (NaN or inf) in row {row}")
    return out
