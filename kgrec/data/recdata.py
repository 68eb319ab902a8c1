"""The one in-memory dataset model every loader produces and every component reads.

Ids are contiguous from 0: users ``0..num_users-1``, items ``0..num_items-1``. Arrays are
numpy (int64 ids, float32 features) so that loaders need no torch; components move what
they need to the device once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

SIDE_DATA = ("kg", "social", "modalities")
"""Names of the optional side data a component may declare in ``requires``."""


@dataclass(frozen=True)
class Interactions:
    """User-item pairs of one split (implicit feedback: every pair is a positive)."""

    users: np.ndarray
    items: np.ndarray

    def __post_init__(self) -> None:
        if self.users.shape != self.items.shape or self.users.ndim != 1:
            raise ValueError("users and items must be 1-d arrays of equal length")

    def __len__(self) -> int:
        return int(self.users.shape[0])

    @staticmethod
    def empty() -> "Interactions":
        return Interactions(np.zeros(0, np.int64), np.zeros(0, np.int64))


@dataclass(frozen=True)
class KnowledgeGraph:
    """Triples (head, relation, tail) over entities; items link to entities.

    ``item_entity[i]`` is the entity id of item ``i`` (-1 when the item has none). Loaders
    that follow the KG-aware papers' convention make items the first entities, so
    ``item_entity[i] == i``.
    """

    heads: np.ndarray
    relations: np.ndarray
    tails: np.ndarray
    num_entities: int
    num_relations: int
    item_entity: np.ndarray
    relation_names: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return int(self.heads.shape[0])


@dataclass(frozen=True)
class SocialGraph:
    """Directed user-user ties (trustor -> trustee, or a friendship in both directions)."""

    src: np.ndarray
    dst: np.ndarray

    def __len__(self) -> int:
        return int(self.src.shape[0])


@dataclass(frozen=True)
class RecData:
    """Interactions with train/validation/test splits plus optional side data.

    ``modalities`` maps a modality name (``image``, ``audio``, ...) to an items x dim
    float32 matrix; its keys come from the data, never from a dataset's name.
    ``split`` records how the split was made (given by the files, or carved by seed), so a
    run can record it. ``user_ids`` / ``item_ids`` (optional) map internal users and items back
    to the files' ids.
    """

    name: str
    num_users: int
    num_items: int
    train: Interactions
    valid: Interactions
    test: Interactions
    kg: KnowledgeGraph | None = None
    social: SocialGraph | None = None
    modalities: Mapping[str, np.ndarray] = field(default_factory=dict)
    split: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    user_ids: np.ndarray | None = None
    """The dataset's own ids of the users, where its files name users by ids other than
    kgrec's (``user_ids[u]`` for internal user ``u``); None when the files' ids are kgrec's
    own. Per-user results are saved under these ids when present."""
    item_ids: np.ndarray | None = None
    """The dataset's own ids of the items (``item_ids[i]`` for internal item ``i``), as
    ``user_ids``: integers or strings, one per item, all distinct; None when the files name
    items by kgrec's indices ``0..num_items-1`` already.

    Formats whose files are 0-based indices (kgrec_dir, diffkg, diffmm, recdiff, MMRec's items,
    the synthetic generator) leave both None: their raw ids *are* the indices. A run directory
    always keeps the mapping (``ids.npz``, see :mod:`kgrec.experiment.ids`), writing the
    indices themselves where these are None."""

    def raw_ids(self, kind: str) -> tuple[np.ndarray, bool]:
        """``(ids, raw)`` of ``kind`` ``"user"`` or ``"item"``: the files' own ids and True, or
        the indices ``0..n-1`` and False where the files use kgrec's indices."""
        given, count = ((self.user_ids, self.num_users) if kind == "user"
                        else (self.item_ids, self.num_items))
        if given is None:
            return np.arange(count, dtype=np.int64), False
        return np.asarray(given), True

    def has(self, need: str) -> bool:
        """Whether the side data ``need`` (one of :data:`SIDE_DATA`) is present."""
        if need == "kg":
            return self.kg is not None and len(self.kg) > 0
        if need == "social":
            return self.social is not None and len(self.social) > 0
        if need == "modalities":
            return len(self.modalities) > 0
        raise ValueError(f"unknown side data {need!r}; expected one of {SIDE_DATA}")

    def replace(self, **changes: Any) -> "RecData":
        from dataclasses import replace

        return replace(self, **changes)
