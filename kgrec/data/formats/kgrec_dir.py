"""kgrec's own dataset directory: a ``kgrec.toml`` manifest plus plain TSV / ``.npy`` files.

The layout is documented for users in ``docs/data-format.md``. Design choices: text tables a
person can read and produce with any tool, no pickles (loading a dataset must never run
code), the manifest as the one source of truth on which parts exist (a side file the
manifest does not list is an error, not silently ignored), and atomic saves (a dataset is
written beside the target and renamed into place, so a crash never leaves half of one).

Ids: the files name users and items by kgrec's 0-based indices, so those indices are the raw
ids and ``RecData.user_ids`` / ``item_ids`` stay None.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from kgrec.config import SplitConfig
from kgrec.data import checks
from kgrec.data.formats import DatasetFormat
from kgrec.data.recdata import Interactions, KnowledgeGraph, RecData, SocialGraph
from kgrec.data.split import carve_validation, split_digests, split_per_user
from kgrec.data.tables import read_int_table
from kgrec.errors import DataError

MANIFEST = "kgrec.toml"
FORMAT_VERSION = 1
_MODALITY = re.compile(r"^[A-Za-z0-9_-]+$")


def detect(path: Path) -> bool:
    return (path / MANIFEST).is_file()


# ---------------------------------------------------------------------------- loading


def _manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    if not path.is_file():
        raise DataError(path, "missing manifest (required)")
    try:
        meta = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(path, f"invalid TOML: {exc}") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise DataError(path, f"format_version must be {FORMAT_VERSION}, got {meta.get('format_version')!r}")
    for key in ("num_users", "num_items"):
        if not isinstance(meta.get(key), int) or isinstance(meta.get(key), bool) or meta[key] < 1:
            raise DataError(path, f"{key} must be a positive integer")
    kg = meta.get("kg")
    if kg is not None:
        if not isinstance(kg, dict):
            raise DataError(path, "kg must be a table ([kg] with num_entities, num_relations)")
        for key in ("num_entities", "num_relations"):
            if not isinstance(kg.get(key), int) or kg[key] < 1:
                raise DataError(path, f"kg.{key} must be a positive integer")
    if not isinstance(meta.get("social", False), bool):
        raise DataError(path, "social must be true or false")
    mods = meta.get("modalities", [])
    if not isinstance(mods, list) or not all(isinstance(m, str) and _MODALITY.match(m) for m in mods):
        raise DataError(path, "modalities must be a list of names (letters, digits, _ and -)")
    for name, listed in (("kg.tsv", kg is not None), ("social.tsv", bool(meta.get("social", False)))):
        if (root / name).exists() and not listed:
            raise DataError(root / name, f"present but {MANIFEST} does not list it")
    return meta


def _pairs(path: Path, upper_a: int, upper_b: int, what: tuple[str, str],
           allow_empty: bool = False) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DataError(path, "missing (required)")
    if allow_empty and path.stat().st_size < 16 and not path.read_bytes().strip():  # empty split: fine
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rows, lines = read_int_table(path, 2, return_lines=True)
    a = checks.check_range(path, rows[:, 0], upper_a, what[0], lines)
    b = checks.check_range(path, rows[:, 1], upper_b, what[1], lines)
    return a, b


def _interactions(root: Path, U: int, I: int, split: SplitConfig
                  ) -> tuple[Interactions, Interactions, Interactions, dict[str, Any]]:
    single, train_path = root / "interactions.tsv", root / "train.tsv"
    if single.exists() and train_path.exists():
        raise DataError(root, "has both interactions.tsv and train.tsv; keep one")
    if single.exists():
        u, i = checks.drop_duplicate_pairs(single, *_pairs(single, U, I, ("user", "item")))
        return split_per_user(u, i, U, split.valid_ratio, split.test_ratio, split.seed)
    if not train_path.exists():
        raise DataError(train_path, "missing (required, or provide interactions.tsv)")
    parts: dict[str, Interactions] = {}
    for part in ("train", "valid", "test"):
        path = root / f"{part}.tsv"
        if part == "valid" and not path.exists():
            continue
        u, i = checks.drop_duplicate_pairs(path, *_pairs(path, U, I, ("user", "item"), part != "train"))
        if part != "train":
            u, i = checks.drop_overlap(path, parts["train"].users, parts["train"].items, u, i, part)
        parts[part] = Interactions(u, i)
    info: dict[str, Any] = {"method": "given"}
    if "valid" not in parts:
        parts["train"], parts["valid"], carved = carve_validation(parts["train"], split.valid_ratio,
                                                                  split.seed, U)
        info = {"method": "given+carved_validation", "valid_ratio": carved["valid_ratio"],
                "seed": carved["seed"]}
    info["sha256"] = split_digests(**parts)
    return parts["train"], parts["valid"], parts["test"], info


def _kg(root: Path, meta: Mapping[str, Any], I: int) -> KnowledgeGraph:
    E, R = meta["num_entities"], meta["num_relations"]
    path = root / "kg.tsv"
    if not path.is_file():
        raise DataError(path, "missing (kgrec.toml has a [kg] table)")
    rows, lines = read_int_table(path, 3, return_lines=True)
    h = checks.check_range(path, rows[:, 0], E, "head entity", lines)
    r = checks.check_range(path, rows[:, 1], R, "relation", lines)
    t = checks.check_range(path, rows[:, 2], E, "tail entity", lines)
    h, r, t = checks.drop_duplicate_triples(path, h, r, t)
    link = root / "item_entities.tsv"
    if link.exists():
        items, entities = _pairs(link, I, E, ("item", "entity"))
        if len(np.unique(items)) != len(items):
            raise DataError(link, "an item is linked to more than one entity")
        item_entity = np.full(I, -1, dtype=np.int64)
        item_entity[items] = entities
    elif E < I:
        raise DataError(root / MANIFEST, f"kg.num_entities ({E}) < num_items ({I}) and no "
                                         "item_entities.tsv (items are entities 0..I-1 by default)")
    else:
        item_entity = np.arange(I, dtype=np.int64)
    names = meta.get("relation_names")
    if names is not None and (len(names) != R or not all(isinstance(n, str) for n in names)):
        raise DataError(root / MANIFEST, f"kg.relation_names must list {R} names")
    kg = KnowledgeGraph(h, r, t, num_entities=E, num_relations=R, item_entity=item_entity,
                        relation_names=tuple(names) if names is not None else None)
    checks.check_kg_links(path, kg)
    return kg


def _features(path: Path, num_items: int) -> np.ndarray:
    if not path.is_file():
        raise DataError(path, "missing (listed in kgrec.toml modalities)")
    try:
        matrix = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(path, f"not a numeric .npy array: {exc}") from None
    return checks.check_features(path, matrix, num_items)


def load_kgrec_dir(path: str | Path, split_config: SplitConfig | None = None) -> RecData:
    """Load a kgrec dataset directory (see ``docs/data-format.md``)."""
    root = Path(path)
    split_config = split_config or SplitConfig()
    meta = _manifest(root)
    U, I = meta["num_users"], meta["num_items"]
    train, valid, test, info = _interactions(root, U, I, split_config)
    saved = meta.get("split")
    if isinstance(saved, dict) and info["method"].startswith("given"):
        info["recorded"] = saved  # how the saved split was originally made
    kg = _kg(root, meta["kg"], I) if "kg" in meta else None
    social = None
    if meta.get("social", False):
        s, d = _pairs(root / "social.tsv", U, U, ("user", "user"))
        s, d = checks.drop_self_loops(root / "social.tsv", s, d)
        social = SocialGraph(*checks.drop_duplicate_pairs(root / "social.tsv", s, d, "social"))
    modalities = {m: _features(root / "features" / f"{m}.npy", I) for m in meta.get("modalities", [])}
    return RecData(name=str(meta.get("name") or root.name), num_users=U, num_items=I, train=train,
                   valid=valid, test=test, kg=kg, social=social, modalities=modalities, split=info,
                   source=str(root))


# ---------------------------------------------------------------------------- saving


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (list, tuple)) and not any(isinstance(v, (dict, list, tuple)) for v in value):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(text)  # a JSON string literal is a valid TOML basic string


def _toml(table: Mapping[str, Any], prefix: str = "") -> str:
    """Minimal TOML writer: scalars, flat lists, nested tables (anything else as a string)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in table.items() if not isinstance(v, Mapping)]
    for key, sub in table.items():
        if isinstance(sub, Mapping):
            lines += ["", f"[{prefix}{key}]", _toml(sub, f"{prefix}{key}.")]
    return "\n".join(lines)


def _write_table(path: Path, *columns: np.ndarray) -> None:
    text = columns[0].astype(np.int64).astype(str)
    for col in columns[1:]:
        text = np.char.add(np.char.add(text, "\t"), col.astype(np.int64).astype(str))
    path.write_text("\n".join(text.tolist()) + ("\n" if len(text) else ""), encoding="utf-8")


def _write_all(data: RecData, root: Path) -> None:
    meta: dict[str, Any] = {"format_version": FORMAT_VERSION, "name": data.name,
                            "num_users": data.num_users, "num_items": data.num_items,
                            "social": data.social is not None, "modalities": list(data.modalities)}
    if data.source:
        meta["source"] = data.source
    for part in ("train", "valid", "test"):
        inter = getattr(data, part)
        _write_table(root / f"{part}.tsv", inter.users, inter.items)
    if data.kg is not None:
        kg = data.kg
        meta["kg"] = {"num_entities": kg.num_entities, "num_relations": kg.num_relations}
        if kg.relation_names is not None:
            meta["kg"]["relation_names"] = list(kg.relation_names)
        _write_table(root / "kg.tsv", kg.heads, kg.relations, kg.tails)
        if not np.array_equal(kg.item_entity, np.arange(data.num_items)):
            linked = np.flatnonzero(kg.item_entity >= 0)
            _write_table(root / "item_entities.tsv", linked, kg.item_entity[linked])
    if data.social is not None:
        _write_table(root / "social.tsv", data.social.src, data.social.dst)
    if data.modalities:
        (root / "features").mkdir()
        for name, matrix in data.modalities.items():
            np.save(root / "features" / f"{name}.npy", np.asarray(matrix, dtype=np.float32))
    if data.split:
        meta["split"] = dict(data.split)
    (root / MANIFEST).write_text(_toml(meta) + "\n", encoding="utf-8")


def save_kgrec_dir(data: RecData, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``data`` as a kgrec directory, atomically; returns the directory.

    The files go to a temporary directory beside ``path`` that is renamed into place only when
    complete. ``overwrite`` replaces an existing kgrec dataset (never any other directory).
    """
    target = Path(path)
    bad = [m for m in data.modalities if not _MODALITY.match(m)]
    if bad:
        raise DataError(target, f"modality name {bad[0]!r} is not a safe file name")
    if target.exists():
        if not overwrite:
            raise DataError(target, "already exists (pass overwrite=True to replace it)")
        if not (target / MANIFEST).is_file():
            raise DataError(target, f"exists and is not a kgrec dataset (no {MANIFEST}); not replacing it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the dataset should not be
    try:
        _write_all(data, tmp)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            old.rmdir()
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


FORMAT = DatasetFormat(
    name="kgrec_dir",
    expects=f"{MANIFEST} + train.tsv/valid.tsv/test.tsv or interactions.tsv "
            "(optional kg.tsv, item_entities.tsv, social.tsv, features/<modality>.npy)",
    detect=detect,
    load=load_kgrec_dir,
)
