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

from kgrec.data.safe_pickle import safe_load
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


def _ids_within(path: PathLike, what: str, values: np.ndarray, upper: int, lower: int = 0) -> None:
    values = np.asarray(values)
    if len(values) and (int(values.min()) < lower or int(values.max()) >= upper):
        bad = int(values[(values < lower) | (values >= upper)][0])
        raise DataError(path, f"{what} id {bad} out of range [{lower}, {upper}) after loading")


def validate_recdata(path: PathLike, data) -> None:
    """What every loaded dataset must satisfy, whatever its format: a safety net under the
    loaders, so that a loader's gap is a one-line error here, not an IndexError mid-training.

    Fatal: no training pairs, an id outside its range, a knowledge graph none of whose triples
    touches an item's entity. Warned (kept as given), where the files give the split: held-out
    pairs of users or items that have no training pair (cold start; their embeddings are never
    trained by BPR).
    """
    if data.num_users < 1 or data.num_items < 1:
        raise DataError(path, f"needs at least one user and one item, has {data.num_users} users "
                              f"and {data.num_items} items")
    if len(data.train) == 0:
        raise DataError(path, "has no training interactions")
    for part in ("train", "valid", "test"):
        inter = getattr(data, part)
        _ids_within(path, f"{part} user", inter.users, data.num_users)
        _ids_within(path, f"{part} item", inter.items, data.num_items)
    if data.social is not None:
        _ids_within(path, "social user", data.social.src, data.num_users)
        _ids_within(path, "social user", data.social.dst, data.num_users)
    for name, matrix in data.modalities.items():
        if matrix.ndim != 2 or matrix.shape[0] != data.num_items:
            raise DataError(path, f"modality {name!r} has shape {matrix.shape}, expected "
                                  f"({data.num_items}, dim)")
    if data.kg is not None and len(data.kg) > 0:
        kg = data.kg
        _ids_within(path, "kg head", kg.heads, kg.num_entities)
        _ids_within(path, "kg tail", kg.tails, kg.num_entities)
        _ids_within(path, "kg relation", kg.relations, kg.num_relations)
        _ids_within(path, "item entity", kg.item_entity, kg.num_entities, lower=-1)
        check_kg_links(path, kg)
    _warn_cold_start(path, data)


def check_kg_links(path: PathLike, kg) -> None:
    """Refuse a KG that no item links into: every KG-aware model would learn nothing from it."""
    linked = kg.item_entity[kg.item_entity >= 0]
    touched = np.zeros(kg.num_entities, dtype=bool)
    touched[kg.heads] = True
    touched[kg.tails] = True
    if len(linked) == 0 or not touched[linked].any():
        raise DataError(path, "no item's entity appears in any knowledge-graph triple: the KG does "
                              "not link to the items (check the item-to-entity mapping)")


def _warn_cold_start(path: PathLike, data) -> None:
    """One warning, only where the files gave the split: kgrec's own split keeps a training
    pair for every user, and an item seen only in held-out pairs is then the split's doing."""
    method = str(data.split.get("method", "given"))
    if not method.startswith("given"):
        return
    recorded = data.split.get("recorded")  # a kgrec directory saved from kgrec's own split
    if isinstance(recorded, dict) and not str(recorded.get("method", "given")).startswith("given"):
        method = "kgrec"
    seen_users = np.zeros(data.num_users, dtype=bool)
    seen_items = np.zeros(data.num_items, dtype=bool)
    seen_users[data.train.users] = True
    seen_items[data.train.items] = True
    found = []
    for part in ("valid", "test"):
        inter = getattr(data, part)
        users = int((~seen_users[inter.users]).sum())
        items_given = method == "given" or (part == "test" and method != "kgrec")
        items = int((~seen_items[inter.items]).sum()) if items_given else 0
        found += [f"{n} {part} pairs of {what}" for n, what in
                  ((users, "users"), (items, "items")) if n]
    if found:
        warnings.warn(f"{path}: cold start: {', '.join(found)} with no training pair (kept; they "
                      "are scored from untrained embeddings)", DataRepairWarning, stacklevel=3)


def to_coo(path: PathLike, matrix, what: str = "matrix"):
    """``matrix`` (any scipy.sparse) as a coo_matrix, or a DataError: an unpickled matrix never
    went through scipy's constructor checks, so its index arrays may be out of range."""
    import scipy.sparse as sp

    try:
        coo = sp.coo_matrix(matrix)
    except (ValueError, TypeError, IndexError, OverflowError, MemoryError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise DataError(path, f"malformed sparse {what} ({detail})") from None
    for axis, index in enumerate((coo.row, coo.col)):  # conversion does not always check
        index = np.asarray(index)
        bad = (index < 0) | (index >= coo.shape[axis])
        if bad.any():
            raise DataError(path, f"malformed sparse {what} (axis {axis} index {int(index[bad][0])} "
                                  f"out of range for shape {tuple(coo.shape)})")
    return coo


IMPLAUSIBLE_FLOOR = 1_000_000
"""Users or items up to this many are always accepted, whatever the interaction count."""
IMPLAUSIBLE_RATIO = 100
"""Above the floor, more users (or items) than this many per training interaction is refused."""


def check_plausible_counts(path: PathLike, num_users: int, num_items: int, interactions: int) -> None:
    """Refuse entity counts no real dataset has: a pickled matrix declares its own shape, and a
    hostile or corrupt one declaring 10^12 rows would make kgrec allocate embedding tables and
    per-user arrays of that size (an out-of-memory kill, not an error)."""
    limit = max(IMPLAUSIBLE_FLOOR, IMPLAUSIBLE_RATIO * interactions)
    for what, count in (("users", num_users), ("items", num_items)):
        if count > limit:
            raise DataError(path, f"declares {count:,} {what} for {interactions:,} training "
                                  f"interactions (more than {limit:,}); refusing a shape no "
                                  "real dataset has")


def pickled_interaction_matrix(path: Path, format_name: str):
    """A paper's pickled users x items ``scipy.sparse`` matrix (``trnMat.pkl`` and kin), read
    through the restricted unpickler, as a checked coo_matrix."""
    import scipy.sparse as sp

    if not path.is_file():
        raise DataError(path, f"missing (required by the {format_name} format)")
    mat = safe_load(path)
    if not sp.issparse(mat) or mat.ndim != 2:
        raise DataError(path, f"expected a pickled scipy.sparse matrix (users x items), got "
                              f"{type(mat).__name__}")
    return to_coo(path, mat)


def matrix_pairs(path: PathLike, coo) -> tuple[np.ndarray, np.ndarray]:
    """The (user, item) pairs of a coo matrix's nonzero entries (explicit zeros are not
    interactions), duplicates dropped with a warning."""
    nonzero = np.asarray(coo.data) != 0
    users = np.asarray(coo.row, dtype=np.int64)[nonzero]
    items = np.asarray(coo.col, dtype=np.int64)[nonzero]
    return drop_duplicate_pairs(path, users, items)
