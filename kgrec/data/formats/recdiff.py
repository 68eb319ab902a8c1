"""RecDiff's release format: one pickled dict in ``dataset.pkl``.

Keys: ``train``, ``val``, ``test`` (scipy.sparse users x items, nonzero = interaction),
``trust`` (users x users, nonzero at (a, b) = a trusts b), ``userCount``, ``itemCount`` and
optionally ``category`` (ignored: kgrec has no item-category input). This is how the authors
ship Ciao, Epinions and Yelp (``datasets/<name>/dataset.pkl`` in HKUDS/RecDiff).

The pickle is read with :func:`kgrec.data.safe_pickle.safe_load`, which admits only numpy and
scipy.sparse classes; the dict, ints and tuples around them are pickle built-ins and need no
class. The splits are used as given (a missing or empty ``val`` is carved out of ``train``
with ``split.valid_ratio`` and ``split.seed``); duplicates, held-out pairs that are also
training pairs, and self-trust are dropped with a warning, as every loader does.

Ids: the files name users and items by kgrec's 0-based indices, so those indices are the raw
ids and ``RecData.user_ids`` / ``item_ids`` stay None.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from kgrec.config import SplitConfig
from kgrec.data import checks
from kgrec.data.formats import DatasetFormat
from kgrec.data.recdata import Interactions, RecData, SocialGraph
from kgrec.data.safe_pickle import safe_load
from kgrec.data.split import carve_validation, split_digests
from kgrec.errors import DataError

FILE = "dataset.pkl"
REQUIRED = ("train", "test", "trust", "userCount", "itemCount")


def detect(path: Path) -> bool:
    return (path / FILE).is_file() or (path.is_file() and path.name == FILE)


def _count(path: Path, raw: dict, key: str) -> int:
    value = raw[key]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DataError(path, f"{key} must be a positive integer, got {value!r}")
    return int(value)


def _pairs(path: Path, raw: dict, key: str, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The nonzero (row, col) pairs of sparse matrix ``raw[key]``, checked against ``shape``."""
    mat = raw[key]
    if not sp.issparse(mat):
        raise DataError(path, f"{key} must be a scipy.sparse matrix, got {type(mat).__name__}")
    if mat.ndim != 2 or tuple(mat.shape) != shape:
        raise DataError(path, f"{key} has shape {tuple(mat.shape)}, expected {shape} "
                              "(userCount x itemCount, or userCount x userCount for trust)")
    coo = checks.to_coo(path, mat, key)
    nonzero = np.asarray(coo.data) != 0
    return (np.asarray(coo.row, dtype=np.int64)[nonzero],
            np.asarray(coo.col, dtype=np.int64)[nonzero])


def load_recdiff(path: str | Path, split_config: SplitConfig | None = None) -> RecData:
    """Load a RecDiff ``dataset.pkl`` (or the directory holding it)."""
    split = split_config or SplitConfig()
    given = Path(path)
    file = given if given.is_file() else given / FILE
    raw: Any = safe_load(file)
    if not isinstance(raw, dict):
        raise DataError(file, f"expected a pickled dict, got {type(raw).__name__}")
    missing = [key for key in REQUIRED if key not in raw]
    if missing:
        raise DataError(file, f"missing key(s) {', '.join(missing)}; a RecDiff dataset.pkl holds "
                              "train, val, test, trust, userCount, itemCount")
    num_users, num_items = _count(file, raw, "userCount"), _count(file, raw, "itemCount")
    where = f"{file}[{{}}]"
    parts: dict[str, Interactions] = {}
    for key, part in (("train", "train"), ("val", "valid"), ("test", "test")):
        if key == "val" and (raw.get("val") is None or getattr(raw["val"], "nnz", 1) == 0):
            continue
        u, i = checks.drop_duplicate_pairs(where.format(key), *_pairs(file, raw, key, (num_users, num_items)))
        if part != "train":
            u, i = checks.drop_overlap(where.format(key), parts["train"].users, parts["train"].items,
                                       u, i, part)
        parts[part] = Interactions(u, i)
    if len(parts["train"]) == 0:
        raise DataError(file, "train has no interactions")
    checks.check_plausible_counts(file, num_users, num_items, len(parts["train"]))
    info: dict[str, Any] = {"method": "given"}
    if "valid" not in parts:
        parts["train"], parts["valid"], carved = carve_validation(parts["train"], split.valid_ratio,
                                                                  split.seed, num_users)
        info = {"method": "given+carved_validation", "valid_ratio": carved["valid_ratio"],
                "seed": carved["seed"]}
    info["sha256"] = split_digests(**parts)
    src, dst = _pairs(file, raw, "trust", (num_users, num_users))
    src, dst = checks.drop_self_loops(where.format("trust"), src, dst)
    src, dst = checks.drop_duplicate_pairs(where.format("trust"), src, dst, what="trust")
    root = file.parent
    return RecData(name=root.resolve().name, num_users=num_users, num_items=num_items,
                   train=parts["train"], valid=parts["valid"], test=parts["test"],
                   social=SocialGraph(src, dst), split=info, source=str(file))


FORMAT = DatasetFormat(
    name="recdiff",
    expects=f"{FILE} (pickled dict: train, val, test, trust as scipy.sparse; userCount, itemCount)",
    detect=detect,
    load=load_recdiff,
)
