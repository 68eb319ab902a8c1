"""DiffMM's release format: ``trnMat.pkl``, ``valMat.pkl``, ``tstMat.pkl`` and ``<modality>_feat.npy``.

The matrices are pickled ``scipy.sparse`` users x items (any nonzero is an interaction), read
with :func:`kgrec.data.safe_pickle.safe_load`, which admits only numpy and scipy.sparse
classes. Every ``<modality>_feat.npy`` beside them is one modality (items x dim, row ``i`` =
item ``i``), read with ``allow_pickle=False``; float16 (TikTok's release) is upcast to
float32, and a matrix with the wrong row count or a NaN / inf is refused naming the file.
Modality names come from the file names, in sorted order (HKUDS/DiffMM ``DataHandler``).

``valMat.pkl`` is optional (the reference code never reads it): without it a validation part
is carved out of the training matrix per user (``split.valid_ratio``, ``split.seed``).
Detection needs ``valMat.pkl`` or a feature file, and no ``kg.txt``, so DiffKG's format
(``trnMat.pkl`` + ``tstMat.pkl`` + ``kg.txt``) is never taken for this one.

Ids: the matrices' row and column indices are the raw ids, so ``RecData.user_ids`` /
``item_ids`` stay None.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from kgrec.config import SplitConfig
from kgrec.data import checks
from kgrec.data.formats import DatasetFormat
from kgrec.data.recdata import Interactions, RecData
from kgrec.data.split import carve_validation, split_digests
from kgrec.errors import DataError

TRAIN, VALID, TEST, KG = "trnMat.pkl", "valMat.pkl", "tstMat.pkl", "kg.txt"
FEATURE_SUFFIX = "_feat.npy"
_MODALITY = re.compile(r"^[A-Za-z0-9_-]+$")


def feature_files(root: Path) -> dict[str, Path]:
    """``<modality>_feat.npy`` files in ``root``: modality name -> path, sorted by name."""
    found = {}
    for path in sorted(root.glob(f"*{FEATURE_SUFFIX}")):
        name = path.name[:-len(FEATURE_SUFFIX)]
        if not _MODALITY.match(name):
            raise DataError(path, "modality name (the part before _feat.npy) must use only "
                                  "letters, digits, _ and -")
        found[name] = path
    return found


def load_features(path: Path, num_items: int) -> np.ndarray:
    """One modality's items x dim matrix as finite float32, or a DataError naming the file."""
    try:
        matrix = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(path, f"not a numeric .npy array: {exc}") from None
    return checks.check_features(path, matrix, num_items)


def detect(path: Path) -> bool:
    if not path.is_dir() or (path / KG).exists():
        return False
    if not ((path / TRAIN).is_file() and (path / TEST).is_file()):
        return False
    return (path / VALID).is_file() or any(path.glob(f"*{FEATURE_SUFFIX}"))


def load_diffmm(path: str | Path, split_config: SplitConfig | None = None) -> RecData:
    """Load a DiffMM dataset directory (see the module docstring)."""
    root = Path(path)
    split = split_config or SplitConfig()
    if not root.is_dir():
        raise DataError(root, "expected a directory holding trnMat.pkl, tstMat.pkl, ...")
    train_mat = checks.pickled_interaction_matrix(root / TRAIN, "diffmm")
    num_users, num_items = (int(n) for n in train_mat.shape)
    train_users, train_items = checks.matrix_pairs(root / TRAIN, train_mat)
    if len(train_users) == 0:
        raise DataError(root / TRAIN, "has no interactions")
    checks.check_plausible_counts(root / TRAIN, num_users, num_items, len(train_users))
    held: dict[str, Interactions] = {}
    for part, name in (("valid", VALID), ("test", TEST)):
        if part == "valid" and not (root / name).exists():
            continue
        mat = checks.pickled_interaction_matrix(root / name, "diffmm")
        if mat.shape != train_mat.shape:
            raise DataError(root / name, f"shape {mat.shape} differs from {TRAIN}'s {train_mat.shape}")
        users, items = checks.drop_overlap(root / name, train_users, train_items,
                                           *checks.matrix_pairs(root / name, mat), part)
        held[part] = Interactions(users, items)
    train = Interactions(train_users, train_items)
    if "valid" in held:
        info = {"method": "given"}
    else:
        train, held["valid"], carved = carve_validation(train, split.valid_ratio, split.seed, num_users)
        info = {"method": "given+carved_validation", "valid_ratio": carved["valid_ratio"],
                "seed": carved["seed"]}
    info["sha256"] = split_digests(train=train, valid=held["valid"], test=held["test"])
    modalities = {name: load_features(file, num_items) for name, file in feature_files(root).items()}
    return RecData(name=root.resolve().name, num_users=num_users, num_items=num_items,
                   train=train, valid=held["valid"], test=held["test"], modalities=modalities,
                   split=info, source=str(root))


FORMAT = DatasetFormat(
    name="diffmm",
    expects=f"{TRAIN} + {TEST} (+ {VALID}) pickled scipy.sparse users x items, "
            f"<modality>{FEATURE_SUFFIX} items x dim; no {KG}",
    detect=detect,
    load=load_diffmm,
)
