"""Last.FM HetRec 2011, as aligned with a knowledge graph by the KGCN authors.

Files (tab separated): ``user_artists.dat`` (header ``userID artistID weight``; any row is a
positive, the play count is ignored) and ``item_index2entity_id.txt`` (``artistID<TAB>entity``;
line order is the item index, 0..3845 on the real data). Interactions are restricted to the
artists of that index, the KGCN convention, and users are renumbered 0.. in sorted order of
their original id. On the real files: 1,872 users, 3,846 items, 21,173 interactions.

The KG (``kg.txt``) and friendships (``user_friends.dat``) are not loaded yet; :class:`_Ids`
keeps the original user and artist ids so that adding them is a matter of mapping their ids
through it in :func:`_side_data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kgrec.config import SplitConfig
from kgrec.data import checks
from kgrec.data.formats import DatasetFormat
from kgrec.data.recdata import RecData
from kgrec.data.split import split_per_user
from kgrec.data.tables import read_int_table
from kgrec.errors import DataError

USER_ARTISTS = "user_artists.dat"
ITEM_INDEX = "item_index2entity_id.txt"
KG = "kg.txt"
FRIENDS = "user_friends.dat"


@dataclass(frozen=True)
class _Ids:
    """Original ids behind kgrec's contiguous ones: ``user_ids[u]``, ``artist_ids[i]``, and
    ``entity_ids[i]`` (the KG entity of item ``i``)."""

    user_ids: np.ndarray
    artist_ids: np.ndarray
    entity_ids: np.ndarray

    def users(self, original: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map original user ids to contiguous ones; also returns which were known."""
        return _lookup(self.user_ids, original)


def _lookup(table: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each value in ``table`` (unique ids, any order) and a found mask, vectorised."""
    sorter = np.argsort(table, kind="stable")
    pos = np.searchsorted(table, values, sorter=sorter)
    pos = np.minimum(pos, len(table) - 1)
    index = sorter[pos]
    return index, table[index] == values


def detect(path: Path) -> bool:
    return (path / USER_ARTISTS).is_file() and (path / ITEM_INDEX).is_file()


def _required(root: Path, name: str) -> Path:
    path = root / name
    if not path.is_file():
        raise DataError(path, "missing (required by the lastfm_hetrec format)")
    return path


def _item_index(root: Path) -> tuple[np.ndarray, np.ndarray]:
    path = _required(root, ITEM_INDEX)
    rows, lines = read_int_table(path, 2, return_lines=True)
    artists = rows[:, 0]
    uniq, counts = np.unique(artists, return_counts=True)
    if (counts > 1).any():
        dup = int(np.argmax(counts > 1))
        later = np.flatnonzero(artists == uniq[dup])[1]
        raise DataError(path, f"artist {int(uniq[dup])} is listed twice", line=int(lines[later]))
    return artists, rows[:, 1]


def _interactions(root: Path, artist_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(original user id, item index) of every row whose artist has an item index."""
    path = _required(root, USER_ARTISTS)
    rows = read_int_table(path, 2, header="auto", min_cols=3)
    items, known = _lookup(artist_ids, rows[:, 1])
    users, items = rows[known, 0], items[known]
    if len(users) == 0:
        raise DataError(path, f"no rows with an artist listed in {ITEM_INDEX}")
    return checks.drop_duplicate_pairs(path, users, items)


def _side_data(root: Path, ids: _Ids) -> dict[str, Any]:
    """KG and social graph: later issues fill this in (kg.txt via read_token_table with entity
    ids mapped through ``ids.entity_ids``; user_friends.dat through ``ids.users``)."""
    return {}


def load_lastfm_hetrec(path: str | Path, split_config: SplitConfig | None = None) -> RecData:
    """Load the HetRec Last.FM directory as interactions restricted to KG-linked artists."""
    root = Path(path)
    split = split_config or SplitConfig()
    artist_ids, entity_ids = _item_index(root)
    original_users, items = _interactions(root, artist_ids)
    user_ids, users = np.unique(original_users, return_inverse=True)
    ids = _Ids(user_ids=user_ids, artist_ids=artist_ids, entity_ids=entity_ids)
    num_users, num_items = len(user_ids), len(artist_ids)
    train, valid, test, info = split_per_user(users, items, num_users, split.valid_ratio,
                                              split.test_ratio, split.seed)
    return RecData(name=root.resolve().name, num_users=num_users, num_items=num_items,
                   train=train, valid=valid, test=test, split=info, source=str(root),
                   **_side_data(root, ids))


FORMAT = DatasetFormat(
    name="lastfm_hetrec",
    expects=f"{USER_ARTISTS} (userID artistID weight) + {ITEM_INDEX} (artistID entity)",
    detect=detect,
    load=load_lastfm_hetrec,
)
