"""The MMRec layout: a RecBole-style ``<name>.inter`` with ``<modality>_feat.npy`` beside it.

MMRec (Zhou, 2023) ships multi-modal datasets (Amazon Baby, Sports, Clothing, ...) as one
tab-separated ``.inter`` file with a header row plus one ``.npy`` per modality
(``image_feat.npy``, ``text_feat.npy``). Fields are found by name, with or without a RecBole
``:type`` suffix: the user field is ``userID`` or ``user_id``, the item field ``itemID`` or
``item_id``, and an optional ``x_label`` gives MMRec's split (0 train, 1 validation, 2 test);
without it the split is made per user (``split.*``).

Item order (the contract with the feature files): item ids are integers ``0..I-1`` and item
``i`` is row ``i`` of every feature matrix, as MMRec's preprocessing writes them. ``I`` is
the largest item id plus one, and each feature matrix must have exactly ``I`` rows (a
mismatch, or a NaN / inf, is refused naming the file). User ids are kept when they are all
integers (``U`` = largest + 1), otherwise tokens are mapped to ids in sorted order and kept as
``RecData.user_ids``. Item ids are the indices themselves (``RecData.item_ids`` is None).

This format is detected before plain ``recbole``: a ``.inter`` with feature files beside it
is read here, one without them by :mod:`kgrec.data.formats.recbole`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kgrec.config import SplitConfig
from kgrec.data import checks
from kgrec.data.formats import DatasetFormat
from kgrec.data.formats.diffmm import feature_files, load_features
from kgrec.data.formats.recbole import _inter_file, read_atomic
from kgrec.data.recdata import Interactions, RecData
from kgrec.data.split import split_digests, split_per_user
from kgrec.errors import DataError

USER_FIELDS = ("userID", "user_id")
ITEM_FIELDS = ("itemID", "item_id")
LABEL_FIELD = "x_label"


def detect(path: Path) -> bool:
    inter = _inter_file(path)
    return inter is not None and bool(feature_files(inter.parent))


def _header(path: Path) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                return [name.strip().split(":")[0] for name in line.rstrip("\r\n").split("\t")]
    raise DataError(path, "empty file (expected a header row of field names)")


def _pick(path: Path, header: list[str], names: tuple[str, ...]) -> str:
    for name in names:
        if name in header:
            return name
    raise DataError(path, f"header has no {' or '.join(names)} field (found: {', '.join(header)})")


def _line(path: Path, row: int) -> int:
    """Physical line of data row ``row`` (0-based, after the header); failure path only."""
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n").split("\n")
    numbers = [n for n, line in enumerate(text, start=1) if line.strip()]
    return numbers[row + 1]


def _integers(path: Path, tokens: np.ndarray, what: str) -> np.ndarray:
    """Non-negative integer ids, or a DataError naming the first bad row's line."""
    ok = np.char.isdigit(tokens)
    if not ok.all():
        row = int(np.argmax(~ok))
        raise DataError(path, f"{what} {tokens[row]!r} is not a non-negative integer (the mmrec "
                              "format indexes feature rows by item id)", line=_line(path, row))
    return tokens.astype(np.int64)


def _users(path: Path, tokens: np.ndarray) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Internal user ids, their count, and the file's tokens behind them (None: the file's
    ids are integers and used as they are)."""
    if np.char.isdigit(tokens).all():
        users = tokens.astype(np.int64)
        return users, int(users.max()) + 1, None
    vocabulary, users = np.unique(tokens, return_inverse=True)
    return users.astype(np.int64), len(vocabulary), vocabulary


def load_mmrec(path: str | Path, split_config: SplitConfig | None = None) -> RecData:
    """Load an MMRec dataset (a directory, or its ``.inter`` file); see the module docstring."""
    given = Path(path)
    split = split_config or SplitConfig()
    inter = _inter_file(given)
    if inter is None:
        raise DataError(given, "no <name>.inter file")
    root = inter.parent
    header = _header(inter)
    fields = [_pick(inter, header, USER_FIELDS), _pick(inter, header, ITEM_FIELDS)]
    if LABEL_FIELD in header:
        fields.append(LABEL_FIELD)
    columns = read_atomic(inter, fields)
    users, num_users, user_ids = _users(inter, columns[0])
    items = _integers(inter, columns[1], "item id")
    num_items = int(items.max()) + 1
    if len(columns) == 3:
        labels = _integers(inter, columns[2], LABEL_FIELD)
        bad = labels > 2
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(inter, f"{LABEL_FIELD} must be 0 (train), 1 (valid) or 2 (test), got "
                                   f"{int(labels[row])}", line=_line(inter, row))
        parts = {}
        for k, part in enumerate(("train", "valid", "test")):
            u, i = checks.drop_duplicate_pairs(inter, users[labels == k], items[labels == k])
            if part != "train":
                u, i = checks.drop_overlap(inter, parts["train"].users, parts["train"].items, u, i, part)
            parts[part] = Interactions(u, i)
        if len(parts["train"]) == 0:
            raise DataError(inter, f"no training rows ({LABEL_FIELD} = 0)")
        train, valid, test = parts["train"], parts["valid"], parts["test"]
        info = {"method": "given", "sha256": split_digests(**parts)}
    else:
        users, items = checks.drop_duplicate_pairs(inter, users, items)
        train, valid, test, info = split_per_user(users, items, num_users, split.valid_ratio,
                                                  split.test_ratio, split.seed)
    files = feature_files(root)
    if not files:
        raise DataError(root, "no <modality>_feat.npy beside the .inter file (use the recbole "
                              "format for interactions alone)")
    modalities = {name: load_features(file, num_items) for name, file in files.items()}
    return RecData(name=inter.stem, num_users=num_users, num_items=num_items, train=train,
                   valid=valid, test=test, modalities=modalities, split=info, source=str(inter),
                   user_ids=user_ids)


FORMAT = DatasetFormat(
    name="mmrec",
    expects="<name>.inter (userID/user_id, itemID/item_id 0..I-1, optional x_label) + "
            "<modality>_feat.npy (row i = item i)",
    detect=detect,
    load=load_mmrec,
)
