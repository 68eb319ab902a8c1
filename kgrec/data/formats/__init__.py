"""Registry of on-disk dataset formats.

A format is a module that defines ``FORMAT = DatasetFormat(...)``: a name, what files it
expects (shown when a directory matches no format), ``detect(path)`` judging by the
directory's contents, and ``load(path, split_config)`` (``load(path, split_config,
data_config)`` for a format with ``takes_data_config``). Adding a format is one new module here
plus its name in :data:`_BUILTIN`. Detection tries formats in that order; the first match wins.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kgrec.config import SplitConfig
from kgrec.data.recdata import RecData

_BUILTIN = (
    "kgrec_dir",
    "lastfm_hetrec",
    "recdiff",
    "filmtrust",
    "diffkg",
    "diffmm",
    "tabular",  # before mmrec / recbole: claims only .inter files that are not tab-separated
    "mmrec",  # before recbole: a .inter with <modality>_feat.npy beside it
    "recbole",
)


@dataclass(frozen=True)
class DatasetFormat:
    name: str
    expects: str
    """One line: the files this format needs, for 'no format matches' errors and docs."""
    detect: Callable[[Path], bool]
    load: Callable[..., RecData]
    """``load(path, split_config)``, plus ``data_config`` when ``takes_data_config``."""
    takes_data_config: bool = False
    """Whether ``load`` reads the ``data.*`` settings itself (columns, side tables, filters);
    for the other formats :func:`kgrec.data.load.load_dataset` applies the filters and splits."""


def _collect() -> dict[str, DatasetFormat]:
    formats: dict[str, DatasetFormat] = {}
    for module_name in _BUILTIN:
        fmt: DatasetFormat = importlib.import_module(f"{__name__}.{module_name}").FORMAT
        formats[fmt.name] = fmt
    return formats


FORMATS: dict[str, DatasetFormat] = _collect()
"""name -> format, in detection order."""


def detect_format(path: Path) -> DatasetFormat | None:
    """The first registered format whose ``detect`` accepts ``path``, or None."""
    for fmt in FORMATS.values():
        if fmt.detect(path):
            return fmt
    return None
