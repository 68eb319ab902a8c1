"""DiffKG's release format: ``trnMat.pkl``, ``tstMat.pkl`` and ``kg.txt`` in one directory.

``trnMat.pkl`` / ``tstMat.pkl`` are pickled ``scipy.sparse`` matrices, users x items (any
nonzero is an interaction), read with :func:`kgrec.data.safe_pickle.safe_load`, which admits
only numpy and scipy.sparse classes: a pickle naming anything else is refused before it can
run. ``kg.txt`` holds ``head relation tail`` integers per line; items are entities
``0..I-1`` (HKUDS/DiffKG ``DataHandler``). Entity and relation counts are one more than the
largest id seen. The release has no validation split: one is carved out of the training
matrix per user with ``split.valid_ratio`` and ``split.seed`` (the test matrix is untouched).

Ids: the files name users and items by kgrec's 0-based indices, so those indices are the raw
ids and ``RecData.user_ids`` / ``item_ids`` stay None.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kgrec.config import SplitConfig
from kgrec.data import checks
from kgrec.data.formats import DatasetFormat
from kgrec.data.recdata import Interactions, KnowledgeGraph, RecData
from kgrec.data.split import carve_validation, split_digests
from kgrec.data.tables import read_int_table
from kgrec.errors import DataError

TRAIN, TEST, KG = "trnMat.pkl", "tstMat.pkl", "kg.txt"


def detect(path: Path) -> bool:
    return all((path / name).is_file() for name in (TRAIN, TEST, KG))


def _kg(path: Path, num_items: int) -> KnowledgeGraph:
    if not path.is_file():
        raise DataError(path, "missing (required by the diffkg format)")
    rows = read_int_table(path, 3)
    heads, relations, tails = checks.drop_duplicate_triples(path, rows[:, 0], rows[:, 1], rows[:, 2])
    num_entities = max(int(heads.max()), int(tails.max()), num_items - 1) + 1
    kg = KnowledgeGraph(heads, relations, tails, num_entities=num_entities,
                        num_relations=int(relations.max()) + 1,
                        item_entity=np.arange(num_items, dtype=np.int64))
    checks.check_kg_links(path, kg)
    return kg


def load_diffkg(path: str | Path, split_config: SplitConfig | None = None) -> RecData:
    """Load a DiffKG dataset directory (``trnMat.pkl``, ``tstMat.pkl``, ``kg.txt``)."""
    root = Path(path)
    split = split_config or SplitConfig()
    train_mat = checks.pickled_interaction_matrix(root / TRAIN, "diffkg")
    test_mat = checks.pickled_interaction_matrix(root / TEST, "diffkg")
    if test_mat.shape != train_mat.shape:
        raise DataError(root / TEST, f"shape {test_mat.shape} differs from {TRAIN}'s {train_mat.shape}")
    num_users, num_items = (int(n) for n in train_mat.shape)
    train_users, train_items = checks.matrix_pairs(root / TRAIN, train_mat)
    if len(train_users) == 0:
        raise DataError(root / TRAIN, "has no interactions")
    checks.check_plausible_counts(root / TRAIN, num_users, num_items, len(train_users))
    test_users, test_items = checks.drop_overlap(root / TEST, train_users, train_items,
                                                 *checks.matrix_pairs(root / TEST, test_mat), "test")
    train, valid, carved = carve_validation(Interactions(train_users, train_items),
                                            split.valid_ratio, split.seed, num_users)
    test = Interactions(test_users, test_items)
    info = {"method": "given+carved_validation", "valid_ratio": carved["valid_ratio"],
            "seed": carved["seed"], "sha256": split_digests(train=train, valid=valid, test=test)}
    return RecData(name=root.resolve().name, num_users=num_users, num_items=num_items,
                   train=train, valid=valid, test=test, kg=_kg(root / KG, num_items), split=info,
                   source=str(root))


FORMAT = DatasetFormat(
    name="diffkg",
    expects=f"{TRAIN} + {TEST} (pickled scipy.sparse users x items) + {KG} (head relation tail)",
    detect=detect,
    load=load_diffkg,
)
