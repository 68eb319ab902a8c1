"""From whatever a user has (a TOML file, a mapping, a :class:`RunConfig`) to a validated one.

Layers are laid over each other in order, later winning, then validated against the chosen
components' ``Config`` classes (found through the registry) with the augmenter's preset
under everything given explicitly. ``kgrec run`` passes its layers in the documented order:
``--config`` file < flags < ``--set``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from kgrec import registry
from kgrec.config import RunConfig, deep_merge, load_toml, resolve_run_config
from kgrec.errors import ConfigError

ConfigLike = RunConfig | Mapping[str, Any] | str | Path
"""A run's settings: a :class:`RunConfig`, a raw mapping (``{"augmenter": "diffkg",
"train": {"epochs": 5}}``, as in a TOML file) or the path of a TOML file."""


def resolve_config(*layers: ConfigLike | None) -> RunConfig:
    """One :class:`RunConfig` from ``layers`` (``None`` layers are skipped), later winning."""
    raw: dict[str, Any] = {}
    for layer in layers:
        if layer is None:
            continue
        raw = deep_merge(raw, as_raw(layer))
    rec_cls = registry.load("recommender", raw.get("recommender", "lightgcn"))
    aug_cls = registry.load("augmenter", raw.get("augmenter", "none"))
    if getattr(rec_cls, "closed_form", False) and raw.get("augmenter", "none") != "none":
        raise ConfigError(f"recommender {raw.get('recommender')!r} is fitted in closed form and takes "
                          f"no augmenter; use augmenter none (got {raw.get('augmenter')!r})")
    return resolve_run_config(raw, rec_cls, aug_cls)


def as_raw(layer: ConfigLike) -> dict[str, Any]:
    """A layer as a raw mapping. A :class:`RunConfig` gives every resolved field, so its
    preset, applied again under them, changes nothing."""
    if isinstance(layer, RunConfig):
        return layer.to_dict()
    if isinstance(layer, (str, Path)):
        return load_toml(layer)
    if isinstance(layer, Mapping):
        return dict(layer)
    raise ConfigError(f"a run config must be a RunConfig, a mapping or a TOML path; got {type(layer).__name__}")
