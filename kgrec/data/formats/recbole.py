"""RecBole atomic files: ``<name>.inter`` plus optional ``.kg``, ``.link`` and ``.net``.

Every file is tab separated with a header row of ``field:type`` names; fields are found by
name, so column order is free and extra columns (ratings, timestamps, reviews with spaces) are
ignored. Fields read: ``.inter`` ``user_id``, ``item_id``; ``.kg`` ``head_id``,
``relation_id``, ``tail_id``; ``.link`` ``item_id``, ``entity_id``; ``.net`` ``source_id``,
``target_id`` (social ties between users). Ids are string tokens mapped to contiguous ids:
users and items in sorted token order over ``.inter``; relations in sorted order; entities
linked to an item first, in item order (so when every item is linked, item ``i`` is entity
``i``, the KG-aware papers' convention), then the others in sorted order. The user and item
tokens are kept as ``RecData.user_ids`` / ``item_ids`` (strings). Items without a link
have no entity; links of items without interactions, and ties naming a user without
interactions, are dropped. The files carry no split: it is made per user (``split.*``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from kgrec.config import SplitConfig
from kgrec.data import checks
from kgrec.data.formats import DatasetFormat
from kgrec.data.recdata import KnowledgeGraph, RecData, SocialGraph
from kgrec.data.split import split_per_user
from kgrec.data.tables import _read_bytes
from kgrec.errors import DataError

FIELDS = {"inter": ("user_id", "item_id"), "kg": ("head_id", "relation_id", "tail_id"),
          "link": ("item_id", "entity_id"), "net": ("source_id", "target_id")}


def _inter_file(path: Path) -> Path | None:
    """``<dir>/<dir>.inter``, else the directory's only ``*.inter``, else a given ``.inter``."""
    if path.is_file():
        return path if path.suffix == ".inter" else None
    named = path / f"{path.name}.inter"
    if named.is_file():
        return named
    found = sorted(path.glob("*.inter"))
    return found[0] if len(found) == 1 else None


def detect(path: Path) -> bool:
    return _inter_file(path) is not None


def read_atomic(path: Path, fields: Sequence[str]) -> list[np.ndarray]:
    """The named fields of a RecBole atomic file as str arrays (one per field, row order).

    Splits on tabs only (a field may contain spaces); ``\\r\\n`` and blank lines are fine.
    Errors name the file and, for a bad row, its line.
    """
    lines = _read_bytes(path).decode("utf-8").replace("\r\n", "\n").split("\n")
    numbers = [n for n, line in enumerate(lines, start=1) if line.strip()]
    if not numbers:
        raise DataError(path, "empty file (expected a header row of field:type names)")
    header = [name.strip().split(":")[0] for name in lines[numbers[0] - 1].split("\t")]
    missing = [f for f in fields if f not in header]
    first = lines[numbers[0] - 1]
    if missing and "\t" not in first and any(sep in first for sep in (",", ";", "|")):
        raise DataError(path, "is not tab-separated, as RecBole atomic files are; read it with "
                              "--format tabular (any separator, RecBole name:type headers)",
                        line=numbers[0])
    if missing:
        raise DataError(path, f"header has no {', '.join(f + ':token' for f in missing)} "
                              f"(found: {', '.join(header)})", line=numbers[0])
    rows = [lines[n - 1].split("\t") for n in numbers[1:]]
    widths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    bad = widths != len(header)
    if bad.any():
        j = int(np.argmax(bad))
        raise DataError(path, f"expected {len(header)} tab-separated fields, found {int(widths[j])}",
                        line=numbers[j + 1])
    out = []
    for field in fields:
        k = header.index(field)
        column = np.array([row[k].strip() for row in rows], dtype=str)
        empty = column == ""
        if empty.any():
            raise DataError(path, f"empty {field}", line=numbers[int(np.argmax(empty)) + 1])
        out.append(column)
    return out


def _codes(vocabulary: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``tokens`` in the sorted ``vocabulary`` and which were found."""
    if len(vocabulary) == 0:
        return np.zeros(len(tokens), np.int64), np.zeros(len(tokens), bool)
    pos = np.minimum(np.searchsorted(vocabulary, tokens), len(vocabulary) - 1)
    return pos.astype(np.int64), vocabulary[pos] == tokens


def _kg(kg_path: Path, link_path: Path | None, item_tokens: np.ndarray) -> KnowledgeGraph:
    heads, relations, tails = read_atomic(kg_path, FIELDS["kg"])
    names, rel = np.unique(relations, return_inverse=True)
    num_items = len(item_tokens)
    link_items, link_entities = np.zeros(0, np.int64), np.zeros(0, dtype=str)
    if link_path is not None:
        link_tokens, entity_tokens = read_atomic(link_path, FIELDS["link"])
        link_items, known = _codes(item_tokens, link_tokens)
        link_items, link_entities = link_items[known], entity_tokens[known]
        _, first = np.unique(link_items, return_index=True)
        if len(first) < len(link_items):
            warnings.warn(f"{link_path}: {len(link_items) - len(first)} items linked to more than "
                          "one entity; kept the first link of each", checks.DataRepairWarning,
                          stacklevel=2)
        first = np.sort(first)
        link_items, link_entities = link_items[first], link_entities[first]
    return kg_from_tokens(kg_path, heads, rel.astype(np.int64), tails, names, link_items,
                          link_entities, num_items)


def _social(net_path: Path, user_tokens: np.ndarray) -> SocialGraph:
    sources, targets = read_atomic(net_path, FIELDS["net"])
    src, src_known = _codes(user_tokens, sources)
    dst, dst_known = _codes(user_tokens, targets)
    known = src_known & dst_known
    src, dst = checks.drop_self_loops(net_path, src[known], dst[known])
    return SocialGraph(*checks.drop_duplicate_pairs(net_path, src, dst, what="social"))


def load_recbole(path: str | Path, split_config: SplitConfig | None = None) -> RecData:
    """Load RecBole atomic files (a directory, or its ``.inter`` file)."""
    given = Path(path)
    split = split_config or SplitConfig()
    inter = _inter_file(given)
    if inter is None:
        raise DataError(given, "no <name>.inter file (RecBole atomic files)")
    root, name = inter.parent, inter.stem
    user_col, item_col = read_atomic(inter, FIELDS["inter"])
    user_tokens, users = np.unique(user_col, return_inverse=True)
    item_tokens, items = np.unique(item_col, return_inverse=True)
    users, items = checks.drop_duplicate_pairs(inter, users.astype(np.int64), items.astype(np.int64))
    num_users, num_items = len(user_tokens), len(item_tokens)
    train, valid, test, info = split_per_user(users, items, num_users, split.valid_ratio,
                                              split.test_ratio, split.seed)
    side = {suffix: root / f"{name}.{suffix}" for suffix in ("kg", "link", "net")}
    kg = None
    if side["kg"].is_file():
        kg = _kg(side["kg"], side["link"] if side["link"].is_file() else None, item_tokens)
    social = _social(side["net"], user_tokens) if side["net"].is_file() else None
    return RecData(name=name, num_users=num_users, num_items=num_items, train=train, valid=valid,
                   test=test, kg=kg, social=social, split=info, source=str(inter),
                   user_ids=user_tokens, item_ids=item_tokens)


FORMAT = DatasetFormat(
    name="recbole",
    expects="<name>.inter (user_id:token item_id:token ...), optional <name>.kg, .link, .net",
    detect=detect,
    load=load_recbole,
)


def kg_from_tokens(path: Path, heads: np.ndarray, relations: np.ndarray, tails: np.ndarray,
                   names, link_items: np.ndarray, link_entities: np.ndarray,
                   num_items: int) -> KnowledgeGraph:
    """A :class:`KnowledgeGraph` from entity tokens and an item -> entity link (RecBole's
    ``.kg`` + ``.link``, and the tabular loader's side files).

    Entity ids: the linked entities in item order (item ``i`` is entity ``i`` when every item
    is linked), then the remaining tokens in sorted order; duplicate triples are dropped.
    """
    order = np.argsort(link_items, kind="stable")
    linked, first_seen = np.unique(link_entities[order], return_index=True)
    linked_order = linked[np.argsort(first_seen)]
    rest = np.setdiff1d(np.unique(np.concatenate([heads, tails])), linked_order)
    vocabulary = np.concatenate([linked_order, rest])
    sorter = np.argsort(vocabulary, kind="stable")

    def entity(tokens: np.ndarray) -> np.ndarray:
        return sorter[np.searchsorted(vocabulary, tokens, sorter=sorter)].astype(np.int64)

    h, r, t = checks.drop_duplicate_triples(path, entity(heads), relations, entity(tails))
    item_entity = np.full(num_items, -1, dtype=np.int64)
    item_entity[link_items] = entity(link_entities)
    kg = KnowledgeGraph(h, r, t, num_entities=len(vocabulary), num_relations=len(names),
                        item_entity=item_entity, relation_names=tuple(str(n) for n in names))
    checks.check_kg_links(path, kg)
    return kg
