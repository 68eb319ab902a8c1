"""FilmTrust (Guo, Zhang and Yorke-Smith, IJCAI 2013): ratings plus a directed trust network.

Files (space separated): ``ratings.txt`` (``user item rating``; every rating, whatever its
value, is a positive interaction, the usual implicit-feedback reading) and ``trust.txt``
(``trustor trustee 1``). Users and items are renumbered 0.. in sorted order of their
original ids (kept as ``RecData.user_ids`` / ``item_ids``); the trust network uses the same
user ids. Trust links with an end outside the
rating set (a user with no ratings) are dropped with a warning, as are duplicate pairs and
self-trust. No split ships with the data: it is split per user by ``split``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from kgrec.config import SplitConfig
from kgrec.data import checks
from kgrec.data.formats import DatasetFormat
from kgrec.data.recdata import RecData, SocialGraph
from kgrec.data.split import split_per_user
from kgrec.data.tables import read_int_table
from kgrec.errors import DataError

RATINGS = "ratings.txt"
TRUST = "trust.txt"


def detect(path: Path) -> bool:
    return (path / RATINGS).is_file() and (path / TRUST).is_file()


def _required(root: Path, name: str) -> Path:
    path = root / name
    if not path.is_file():
        raise DataError(path, "missing (required by the filmtrust format)")
    return path


def _trust(path: Path, user_ids: np.ndarray) -> SocialGraph:
    rows = read_int_table(path, 2, min_cols=3)
    pos_src = np.searchsorted(user_ids, rows[:, 0])
    pos_dst = np.searchsorted(user_ids, rows[:, 1])
    clip = len(user_ids) - 1
    known = ((user_ids[np.minimum(pos_src, clip)] == rows[:, 0])
             & (user_ids[np.minimum(pos_dst, clip)] == rows[:, 1]))
    if not known.all():
        warnings.warn(f"{path}: dropped {int((~known).sum())} of {len(rows)} trust links to or from "
                      f"users without ratings", checks.DataRepairWarning, stacklevel=3)
    src, dst = checks.drop_self_loops(path, pos_src[known], pos_dst[known])
    src, dst = checks.drop_duplicate_pairs(path, src, dst, what="trust")
    return SocialGraph(src.astype(np.int64), dst.astype(np.int64))


def load_filmtrust(path: str | Path, split_config: SplitConfig | None = None) -> RecData:
    """Load a FilmTrust directory: every rating a positive, trust as the social graph."""
    root = Path(path)
    split = split_config or SplitConfig()
    ratings = _required(root, RATINGS)
    rows = read_int_table(ratings, 2, min_cols=3)
    user_ids, users = np.unique(rows[:, 0], return_inverse=True)
    item_ids, items = np.unique(rows[:, 1], return_inverse=True)
    users, items = checks.drop_duplicate_pairs(ratings, users.astype(np.int64), items.astype(np.int64))
    social = _trust(_required(root, TRUST), user_ids)
    train, valid, test, info = split_per_user(users, items, len(user_ids), split.valid_ratio,
                                              split.test_ratio, split.seed)
    return RecData(name=root.resolve().name, num_users=len(user_ids), num_items=len(item_ids),
                   train=train, valid=valid, test=test, social=social, split=info,
                   source=str(root), user_ids=user_ids, item_ids=item_ids)


FORMAT = DatasetFormat(
    name="filmtrust",
    expects=f"{RATINGS} (user item rating) + {TRUST} (trustor trustee 1)",
    detect=detect,
    load=load_filmtrust,
)
