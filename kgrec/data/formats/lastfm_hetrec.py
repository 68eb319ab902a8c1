"""Last.FM HetRec 2011, as aligned with a knowledge graph by the KGCN authors.

Files (tab separated): ``user_artists.dat`` (header ``userID artistID weight``; any row is a
positive, the play count is ignored) and ``item_index2entity_id.txt`` (``artistID<TAB>entity``;
line order is the item index, 0..3845 on the real data). Interactions are restricted to the
artists of that index, the KGCN convention, and users are renumbered 0.. in sorted order of
their original id (``RecData.user_ids``; ``item_ids`` are the artist ids in item order). On
the real files: 1,872 users, 3,846 items, 21,173 interactions.

Optional side files: ``kg.txt`` (``head<TAB>relation_name<TAB>tail``, Satori entity ids;
relation names become ids 0..R-1 in sorted name order) and ``user_friends.dat``
(``userID<TAB>friendID``, no header). Item ``i``'s entity is line ``i`` of the item index (on
the real data entity ``i`` itself: items are the first entities, as KG-aware papers assume);
the entity count is one more than the largest id in either file. Friends are mapped through
the interactions' user map; a friendship naming a user without interactions is dropped. On
the real files: 9,366 entities, 60 relations, 15,518 triples; 25,434 friendship rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kgrec.config import SplitConfig
from kgrec.data import checks
from kgrec.data.formats import DatasetFormat
from kgrec.data.recdata import KnowledgeGraph, RecData, SocialGraph
from kgrec.data.split import split_per_user
from kgrec.data.tables import read_int_table, read_token_table
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


def _row_line(path: Path, row: int) -> int:
    """1-based line of the ``row``-th non-blank line (failure path only: to name a bad line)."""
    seen = -1
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            seen += bool(line.strip())
            if seen == row:
                return number
    return number


def _entity_column(path: Path, tokens: np.ndarray, column: int) -> np.ndarray:
    """A column of entity-id tokens as int64, or a DataError naming the first bad line."""
    ok = np.char.isdigit(tokens)
    if not ok.all():
        row = int(np.argmax(~ok))
        raise DataError(path, f"column {column}: {tokens[row]!r} is not an entity id (a "
                              "non-negative integer)", line=_row_line(path, row))
    return tokens.astype(np.int64)


def _kg(path: Path, item_entities: np.ndarray) -> KnowledgeGraph:
    head_tokens, relation_tokens, tail_tokens = read_token_table(path, 3)
    heads = _entity_column(path, head_tokens, 1)
    tails = _entity_column(path, tail_tokens, 3)
    names, relations = np.unique(relation_tokens, return_inverse=True)
    heads, relations, tails = checks.drop_duplicate_triples(path, heads, relations.astype(np.int64), tails)
    num_entities = int(max(heads.max(), tails.max(), item_entities.max())) + 1
    kg = KnowledgeGraph(heads, relations, tails, num_entities=num_entities,
                        num_relations=len(names), item_entity=item_entities.astype(np.int64),
                        relation_names=tuple(str(n) for n in names))
    checks.check_kg_links(path, kg)
    return kg


def _friends(path: Path, ids: _Ids) -> SocialGraph:
    rows = read_int_table(path, 2, header="auto")
    src, src_known = ids.users(rows[:, 0])
    dst, dst_known = ids.users(rows[:, 1])
    known = src_known & dst_known
    src, dst = checks.drop_self_loops(path, src[known], dst[known])
    src, dst = checks.drop_duplicate_pairs(path, src, dst, what="friendship")
    return SocialGraph(src.astype(np.int64), dst.astype(np.int64))


def _side_data(root: Path, ids: _Ids) -> dict[str, Any]:
    """The KG and the friendship graph, each when its file is there."""
    out: dict[str, Any] = {}
    if (root / KG).is_file():
        out["kg"] = _kg(root / KG, ids.entity_ids)
    if (root / FRIENDS).is_file():
        out["social"] = _friends(root / FRIENDS, ids)
    return out


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
                   user_ids=user_ids, item_ids=artist_ids, **_side_data(root, ids))


FORMAT = DatasetFormat(
    name="lastfm_hetrec",
    expects=f"{USER_ARTISTS} (userID artistID weight) + {ITEM_INDEX} (artistID entity), "
            f"optional {KG} (head relation tail) and {FRIENDS} (userID friendID)",
    detect=detect,
    load=load_lastfm_hetrec,
)
