"""Filters between reading interactions and splitting them, and the pipeline that runs them.

Every filter is a vectorised mask over the interaction rows; they run in RecBole's order:

1. ``dedup``: repeated (user, item) pairs keep one row, the ``first`` or ``last`` by time where
   there is a time column, else by file order (within each part of a given split);
2. ``rating_min``: keep rows rated at least this (implicit feedback from explicit ratings);
3. ``require``: drop rows of items without a knowledge-graph entity (``kg``) or a feature row
   (``modalities``), and of users without a social tie (``social``);
4. k-core (``user_core``, ``item_core``): drop users and items with fewer rows, repeated until
   both hold (a fixed point: dropping items can push users under their minimum);

then, where the dataset gives its own split, held-out pairs that are also training pairs
(``overlap``). Each filter's effect (rows, users and items removed and left) is recorded in
:attr:`RecData.split` ``["filters"]`` and so in the run's ``config.json``. A filter that leaves
nothing is a one-line :class:`~kgrec.errors.DataError` naming the file and the filter.

:func:`prepare` runs the filters, renumbers the users and items that are left (in the order of
their codes, so sorted raw ids stay sorted), restricts the side data to them and splits
(:func:`kgrec.data.split.split_table`). Formats that load their own split (pickles, kgrec
directories) go through :func:`refilter` when a filter or another split is asked for.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from kgrec.config import DataConfig, SplitConfig
from kgrec.data.recdata import Interactions, KnowledgeGraph, RecData, SocialGraph
from kgrec.data.split import split_table
from kgrec.errors import ConfigError, DataError

SIDE_WORDS = {"kg": "knowledge graph", "social": "social graph", "modalities": "item features"}


@dataclass
class Table:
    """Interaction rows over user and item codes (``0..num_users-1``, ``0..num_items-1``),
    before filtering: repeated pairs allowed, optional per-row rating, time and given part
    (0 train, 1 valid, 2 test)."""

    users: np.ndarray
    items: np.ndarray
    num_users: int
    num_items: int
    rating: np.ndarray | None = None
    time: np.ndarray | None = None
    part: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.users.shape[0])


@dataclass
class Side:
    """Side data over the same codes: an items x ... view that :func:`prepare` restricts."""

    kg: KnowledgeGraph | None = None
    """``item_entity`` has one entry per item code (-1: no entity)."""
    social: SocialGraph | None = None
    modalities: Mapping[str, np.ndarray] = field(default_factory=dict)
    """One row per item code; rows of items without features are ignored (``missing``)."""
    missing_features: Mapping[str, np.ndarray] = field(default_factory=dict)
    """Per modality, True for item codes that have no feature row."""


def _record(name: str, setting: Any, table: Table, before: np.ndarray, after: np.ndarray) -> dict[str, Any]:
    def count(keep: np.ndarray, ids: np.ndarray, size: int) -> int:
        return int(np.count_nonzero(np.bincount(ids[keep], minlength=size)))

    users = [count(k, table.users, table.num_users) for k in (before, after)]
    items = [count(k, table.items, table.num_items) for k in (before, after)]
    return {"filter": name, "setting": setting, "removed": int(before.sum() - after.sum()),
            "removed_users": users[0] - users[1], "removed_items": items[0] - items[1],
            "interactions": int(after.sum()), "users": users[1], "items": items[1]}


def _emptied(where: str | Path, name: str, setting: Any, before: int) -> DataError:
    return DataError(where, f"no interactions left after the {name} filter ({setting}); "
                            f"{before} were left before it: loosen data.{_KEY.get(name, name)}")


_KEY = {"rating threshold": "rating_min", "k-core": "user_core / data.item_core",
        "require": "require", "dedup": "dedup", "overlap": "split_column"}


def dedup_mask(table: Table, keep: str = "first") -> np.ndarray:
    """True for the one row kept of each repeated (user, item) pair (per given part)."""
    n = len(table)
    if n == 0:
        return np.ones(0, dtype=bool)
    key = table.users.astype(np.int64) * table.num_items + table.items
    if table.part is not None:
        key = key * 3 + table.part
    rows = np.arange(n)
    order = np.lexsort((rows, table.time)) if table.time is not None else rows
    if keep == "last":
        order = order[::-1]
    _, first = np.unique(key[order], return_index=True)
    mask = np.zeros(n, dtype=bool)
    mask[order[first]] = True
    return mask


def kcore_mask(users: np.ndarray, items: np.ndarray, keep: np.ndarray, num_users: int,
               num_items: int, user_core: int, item_core: int) -> np.ndarray:
    """``keep`` narrowed until every kept user has >= ``user_core`` and every kept item >=
    ``item_core`` kept rows. Each round is vectorised; rounds repeat to the fixed point."""
    keep = keep.copy()
    while True:
        user_deg = np.bincount(users[keep], minlength=num_users)
        item_deg = np.bincount(items[keep], minlength=num_items)
        low = keep & ((user_deg[users] < user_core) | (item_deg[items] < item_core))
        if not low.any():
            return keep
        keep &= ~low


def overlap_mask(table: Table, keep: np.ndarray) -> np.ndarray:
    """``keep`` less held-out rows whose pair is also a kept training row (full ranking masks
    training items, so such a pair could never be ranked)."""
    if table.part is None:
        return keep
    key = table.users.astype(np.int64) * table.num_items + table.items
    train_keys = np.unique(key[keep & (table.part == 0)])
    seen = np.isin(key, train_keys) & (table.part != 0)
    return keep & ~seen


def apply_filters(table: Table, side: Side, cfg: DataConfig, where: str | Path
                  ) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The rows kept by ``cfg``'s filters, and what each filter removed (see the module doc)."""
    keep = np.ones(len(table), dtype=bool)
    records: list[dict[str, Any]] = []

    def step(name: str, setting: Any, new: np.ndarray) -> np.ndarray:
        records.append(_record(name, setting, table, keep, new))
        if not new.any() and keep.any():
            raise _emptied(where, name, setting, int(keep.sum()))
        return new

    if len(table) == 0:
        raise DataError(where, "no interactions")
    keep = step("dedup", cfg.dedup, dedup_mask(table, cfg.dedup))
    if cfg.rating_min is not None:
        if table.rating is None:
            raise ConfigError(f"data.rating_min = {cfg.rating_min:g} needs ratings, and {where} has no "
                              "rating column mapped (set data.rating=<column>; the tabular format reads "
                              "ratings: --format tabular)")
        keep = step("rating threshold", f">= {cfg.rating_min:g}", keep & (table.rating >= cfg.rating_min))
    if cfg.require:
        ok = keep.copy()
        for need in cfg.require:
            ok &= _coverage(side, need, table, where)
        keep = step("require", ", ".join(cfg.require), ok)
    if cfg.user_core > 1 or cfg.item_core > 1:
        setting = f"users >= {cfg.user_core}, items >= {cfg.item_core}"
        keep = step("k-core", setting, kcore_mask(table.users, table.items, keep, table.num_users,
                                                  table.num_items, cfg.user_core, cfg.item_core))
    if table.part is not None:
        new = overlap_mask(table, keep)
        if int(new.sum()) != int(keep.sum()):
            keep = step("overlap", "held-out pairs also in train", new)
    return keep, records


def _coverage(side: Side, need: str, table: Table, where: str | Path) -> np.ndarray:
    """Per row: whether its item (kg, modalities) or user (social) has the side data."""
    if need == "kg":
        if side.kg is None:
            raise ConfigError(f"data.require lists kg, but {where} has no knowledge graph (set data.kg.path)")
        linked = side.kg.item_entity >= 0
        return linked[table.items]
    if need == "social":
        if side.social is None:
            raise ConfigError(f"data.require lists social, but {where} has no social graph "
                              "(set data.social.path)")
        has_tie = np.zeros(table.num_users, dtype=bool)
        has_tie[side.social.src] = True
        has_tie[side.social.dst] = True
        return has_tie[table.users]
    if not side.modalities:
        raise ConfigError(f"data.require lists modalities, but {where} has no item features "
                          "(set data.features)")
    ok = np.ones(table.num_items, dtype=bool)
    for missing in side.missing_features.values():
        ok &= ~missing
    return ok[table.items]


def _renumber(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept codes in increasing order, code -> new id map with -1 for dropped codes)."""
    kept = np.unique(codes)
    new_id = np.full(size, -1, dtype=np.int64)
    new_id[kept] = np.arange(len(kept), dtype=np.int64)
    return kept, new_id


def restrict_side(side: Side, user_new: np.ndarray, item_kept: np.ndarray, where: str | Path
                  ) -> tuple[KnowledgeGraph | None, SocialGraph | None, dict[str, np.ndarray]]:
    """Side data over the renumbered users and items (the KG's entities stay as they are)."""
    kg = None
    if side.kg is not None:
        kg = dataclasses.replace(side.kg, item_entity=side.kg.item_entity[item_kept])
    social = None
    if side.social is not None:
        src, dst = user_new[side.social.src], user_new[side.social.dst]
        both = (src >= 0) & (dst >= 0)
        social = SocialGraph(src[both], dst[both])
    modalities = {}
    for name, matrix in side.modalities.items():
        missing = side.missing_features.get(name)
        if missing is not None and missing[item_kept].any():
            raise DataError(where, f"{int(missing[item_kept].sum())} items have no {name!r} feature "
                                   "row; add them, or drop their interactions with data.require = "
                                   "[\"modalities\"]")
        modalities[name] = matrix[item_kept]
    return kg, social, modalities


def prepare(table: Table, side: Side, data_cfg: DataConfig, split_cfg: SplitConfig, *,
            where: str | Path, name: str, source: str, user_ids: np.ndarray | None = None,
            item_ids: np.ndarray | None = None, extra: Mapping[str, Any] | None = None) -> RecData:
    """Filter, renumber, restrict the side data, split: a :class:`RecData` (see the module doc).

    ``user_ids`` / ``item_ids`` are the raw ids of the codes; the result's ``user_ids`` are
    those of the users left. ``extra`` is recorded beside the split (columns read, files).
    """
    keep, records = apply_filters(table, side, data_cfg, where)
    user_kept, user_new = _renumber(table.users[keep], table.num_users)
    item_kept, item_new = _renumber(table.items[keep], table.num_items)
    users, items = user_new[table.users[keep]], item_new[table.items[keep]]
    time = table.time[keep] if table.time is not None else None
    labels = table.part[keep] if table.part is not None else None
    train, valid, test, info = split_table(users, items, len(user_kept), split_cfg, time=time, labels=labels)
    if len(train) == 0:
        raise DataError(where, f"the {info['method']} split leaves no training pairs (check the split "
                               "settings and, for a time cut, split.test_from / split.valid_from)")
    kg, social, modalities = restrict_side(side, user_new, item_kept, where)
    info = {**info, "filters": records, **dict(extra or {})}
    raw_users = user_ids[user_kept] if user_ids is not None else None
    raw_items = item_ids[item_kept] if item_ids is not None else None
    return RecData(name=name, num_users=len(user_kept), num_items=len(item_kept), train=train,
                   valid=valid, test=test, kg=kg, social=social, modalities=modalities, split=info,
                   source=source, user_ids=raw_users, item_ids=raw_items)


def needs_refilter(data_cfg: DataConfig, split_cfg: SplitConfig) -> bool:
    """Whether a loaded dataset must go through :func:`refilter`: a filter, or a split other
    than the one it was loaded with (``auto``)."""
    return data_cfg.filters_active() or split_cfg.method != "auto"


def refilter(data: RecData, data_cfg: DataConfig, split_cfg: SplitConfig, where: str | Path) -> RecData:
    """A dataset some other format loaded and split, pooled again, filtered and re-split.

    Its own split is kept as the ``given`` one where the files gave it (a validation part that
    kgrec carved is pooled with train and carved again after filtering).
    """
    parts = (data.train, data.valid, data.test)
    method = str(data.split.get("method", ""))
    labels = None
    if method.startswith("given"):
        codes = (0, 0, 2) if "carved" in method else (0, 1, 2)
        labels = np.concatenate([np.full(len(p), c, dtype=np.int8) for p, c in zip(parts, codes)])
    table = Table(np.concatenate([p.users for p in parts]), np.concatenate([p.items for p in parts]),
                  data.num_users, data.num_items, part=labels)
    side = Side(kg=data.kg, social=data.social, modalities=dict(data.modalities))
    # internal ids change when users or items are dropped: keep the files' ids (or the old ones)
    user_ids = data.user_ids if data.user_ids is not None else np.arange(data.num_users)
    item_ids = data.item_ids
    if item_ids is None:
        item_ids = np.arange(data.num_items)
    return prepare(table, side, data_cfg, split_cfg, where=where, name=data.name, source=data.source,
                   user_ids=user_ids, item_ids=item_ids)
