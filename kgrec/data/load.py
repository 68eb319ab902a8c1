"""One entry point from a dataset spec (``--dataset``) to a :class:`RecData`.

A spec is ``synthetic`` (the default, optionally ``synthetic?num_users=500&seed=1``) or a path
to a file or directory in one of the registered formats (:mod:`kgrec.data.formats`), detected
from its contents unless ``fmt`` names one. The word ``synthetic`` always means the generator;
write ``./synthetic`` for a directory of that name.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import parse_qsl

from kgrec.config import DataConfig, SplitConfig, build, parse_value
from kgrec.data.checks import validate_recdata
from kgrec.data.filters import needs_refilter, refilter
from kgrec.data.formats import FORMATS, detect_format
from kgrec.data.recdata import RecData
from kgrec.data.synthetic import SyntheticConfig, make_synthetic
from kgrec.errors import ConfigError, DataError

SYNTHETIC = "synthetic"


def parse_synthetic_spec(spec: str) -> SyntheticConfig:
    """``synthetic?num_users=500&seed=1`` -> SyntheticConfig; unknown keys are a ConfigError."""
    _, _, query = spec.partition("?")
    values = {}
    for key, text in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)):
        values[key] = parse_value(text)
    return build(SyntheticConfig, values, SYNTHETIC)


def _known_formats() -> str:
    return "; ".join(f"{fmt.name}: {fmt.expects}" for fmt in FORMATS.values())


FILTER_KEYS = ("dedup", "rating_min", "user_core", "item_core", "require")
"""The ``data.*`` settings every format honours; the others describe tables (tabular format)."""


def _refuse_table_settings(data_config: DataConfig, fmt: str, path: Path) -> None:
    """A column or side-table setting given for a format that does not read tables this way is
    an error, not silently ignored."""
    default = DataConfig()
    given = [f"data.{f.name}" for f in dataclasses.fields(DataConfig)
             if f.name not in FILTER_KEYS and getattr(data_config, f.name) != getattr(default, f.name)]
    if given:
        raise ConfigError(f"{', '.join(given)} {'describes' if len(given) == 1 else 'describe'} a table "
                          f"file, but {path} is read as the {fmt} format; give the interactions file "
                          "itself with --format tabular, or drop the setting")


def load_dataset(spec: str, fmt: str = "auto", split_config: SplitConfig | None = None,
                 data_config: DataConfig | None = None) -> RecData:
    """Load the dataset ``spec`` names; ``split_config`` splits formats that ship no split (or
    re-splits any, with ``split.method``); ``data_config`` sets the tabular format's columns and
    side tables, and the filters, which apply to every format (:mod:`kgrec.data.filters`)."""
    split_config = split_config or SplitConfig()
    data_config = data_config or DataConfig()
    if fmt not in ("auto", SYNTHETIC, *FORMATS):
        raise ConfigError(f"unknown dataset format {fmt!r} (formats: auto, {SYNTHETIC}, {', '.join(FORMATS)})")
    is_synthetic = spec == SYNTHETIC or spec.startswith(SYNTHETIC + "?")
    if is_synthetic != (fmt == SYNTHETIC) and fmt != "auto":
        raise ConfigError(f"dataset {spec!r} does not match format {fmt!r} (the synthetic generator "
                          f"is spelled '{SYNTHETIC}' or '{SYNTHETIC}?key=value&...')")
    if is_synthetic:
        _refuse_table_settings(data_config, SYNTHETIC, Path(spec))
        try:
            data = make_synthetic(parse_synthetic_spec(spec), split_config)
        except ValueError as exc:  # a malformed query string
            raise ConfigError(f"bad synthetic dataset spec {spec!r}: {exc}") from None
        return refilter(data, data_config, split_config, spec) if needs_refilter(data_config, split_config) else data
    path = Path(spec).expanduser()
    if not path.exists():
        raise DataError(path, f"no such dataset (use '{SYNTHETIC}' or a path to a dataset directory)")
    if fmt != "auto":
        chosen = FORMATS[fmt]
    else:
        found = detect_format(path)
        if found is None:
            raise DataError(path, f"matches no known dataset format (known formats: {_known_formats()})")
        chosen = found
    if chosen.takes_data_config:
        data = chosen.load(path, split_config, data_config)
    else:
        _refuse_table_settings(data_config, chosen.name, path)
        data = chosen.load(path, split_config)
        if needs_refilter(data_config, split_config):
            data = refilter(data, data_config, split_config, path)
    validate_recdata(path, data)
    return data

