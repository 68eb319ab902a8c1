"""Search spaces for ``kgrec tune``: declared per component, overridden by a TOML file.

A distribution is a small table:

- ``{ low = 1e-4, high = 1e-2, log = true }``: a float (log-uniform with ``log``), or an
  integer when both bounds are integers (``{ low = 1, high = 4 }``); ``step`` optional;
- ``{ choices = [64, 128, 256] }``: one of the values.

A run's space is, key by key (dotted config keys, as ``--set`` takes them), later winning:
:data:`TRAIN_SPACE` (the learning rate; not for recommenders fitted in closed form), the
recommender's ``search_space`` and the augmenter's (class attributes whose keys are their
own ``Config`` fields, prefixed here with the component's name), then the override file.
In the file, a key set to ``false`` is not tuned, and ``replace = true`` drops every
default so that only the file's keys are searched::

    # space.toml
    "train.lr" = { low = 1e-4, high = 1e-2, log = true }
    lightgcn.layers = { choices = [1, 2, 3] }
    lightgcn.reg = false
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from kgrec.config import build, deep_merge, load_toml, set_dotted
from kgrec.errors import ConfigError

TRAIN_SPACE: dict[str, dict[str, Any]] = {"train.lr": {"low": 1e-4, "high": 1e-2, "log": True}}
"""Tuned for every recommender that trains by gradient."""
DIST_KEYS = frozenset({"low", "high", "log", "step", "choices"})


@dataclass(frozen=True)
class Dist:
    """One tuned setting's distribution."""

    kind: str
    """``float``, ``int`` or ``categorical``."""
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] = ()

    def values(self) -> list[Any]:
        """Values that must all resolve: the bounds, or every choice."""
        return list(self.choices) if self.kind == "categorical" else [self.low, self.high]

    def describe(self) -> str:
        if self.kind == "categorical":
            return f"one of {list(self.choices)}"
        scale = "log-uniform" if self.log else "uniform"
        step = f", step {self.step}" if self.step is not None else ""
        return f"{self.kind} {scale} in [{self.low}, {self.high}]{step}"

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "categorical":
            return {"choices": list(self.choices)}
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out


def parse_dist(key: str, spec: Any) -> Dist:
    """A distribution table as :class:`Dist`, or a one-line error naming ``key``."""
    if not isinstance(spec, Mapping) or not spec or set(spec) - DIST_KEYS:
        raise ConfigError(f"search space {key}: expected {{ low = ..., high = ... [, log = true]"
                          f"[, step = ...] }} or {{ choices = [...] }}; got {spec!r}")
    if "choices" in spec:
        choices = spec["choices"]
        if set(spec) != {"choices"} or not isinstance(choices, list) or not choices:
            raise ConfigError(f"search space {key}: choices must be a non-empty list, alone")
        if any(isinstance(c, (Mapping, list)) for c in choices):
            raise ConfigError(f"search space {key}: choices must be numbers, strings or booleans")
        return Dist("categorical", choices=tuple(choices))
    low, high = spec.get("low"), spec.get("high")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    if not numbers or not math.isfinite(low) or not math.isfinite(high) or not low < high:
        raise ConfigError(f"search space {key}: needs numbers low < high; got low={low!r}, high={high!r}")
    log = spec.get("log", False)
    if not isinstance(log, bool) or (log and low <= 0):
        raise ConfigError(f"search space {key}: log must be true or false, and needs low > 0")
    step = spec.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0
                             or (log and step is not None)):
        raise ConfigError(f"search space {key}: step must be a positive number (not with log)")
    kind = "int" if isinstance(low, int) and isinstance(high, int) and not isinstance(step, float) else "float"
    return Dist(kind, low, high, log, step)


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"lightgcn": {"layers": {...}}}`` and ``{"lightgcn.layers": {...}}`` alike, to dotted
    keys; a table whose keys are distribution keys (or ``false``) is a leaf."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and not set(value) <= DIST_KEYS:
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def component_space(name: str, cls: type) -> dict[str, Any]:
    """A component's declared ``search_space``, its keys prefixed with ``name``."""
    return {f"{name}.{k}": v for k, v in dict(getattr(cls, "search_space", {}) or {}).items()}


def check_component_space(kind: str, name: str, cls: type) -> list[str]:
    """Problems of a component's ``search_space``: a distribution that does not parse, or a
    key or bound value that its ``Config`` refuses. Empty when it is fine."""
    problems = []
    for key, spec in dict(getattr(cls, "search_space", {}) or {}).items():
        try:
            dist = parse_dist(f"{name}.{key}", spec)
            for value in dist.values():
                nested: dict[str, Any] = {}
                set_dotted(nested, key, value)
                build(cls.Config, nested, name)
        except ConfigError as exc:
            problems.append(f"{kind} {name}: search_space {key}: {exc}")
    return problems


def read_override(source: str | Path | Mapping[str, Any] | None) -> tuple[dict[str, Any], bool]:
    """An override (a TOML path, or a mapping as in one) as dotted keys, and its ``replace``."""
    if source is None:
        return {}, False
    raw = dict(load_toml(source) if isinstance(source, (str, Path)) else source)
    replace = raw.pop("replace", False)
    if not isinstance(replace, bool):
        raise ConfigError("search space: replace must be true or false")
    if "space" in raw and isinstance(raw["space"], Mapping) and len(raw) == 1:
        raw = dict(raw["space"])
    return flatten(raw), replace


def build_space(recommender: str, rec_cls: type, augmenter: str, aug_cls: type,
                override: str | Path | Mapping[str, Any] | None = None) -> dict[str, Dist]:
    """The search space of a run with these components (see the module docstring)."""
    spec: dict[str, Any] = {}
    changes, replace = read_override(override)
    if not replace:
        if not getattr(rec_cls, "closed_form", False):
            spec.update(TRAIN_SPACE)
        spec.update(component_space(recommender, rec_cls))
        if augmenter != recommender:
            spec.update(component_space(augmenter, aug_cls))
    for key, value in changes.items():
        if value is False:
            spec.pop(key, None)
        else:
            spec[key] = value
    return {key: parse_dist(key, value) for key, value in spec.items()}


def nested(params: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted ``{"train.lr": 0.01}`` as a raw config layer ``{"train": {"lr": 0.01}}``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        set_dotted(out, key, value)
    return out


def with_params(raw: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    return deep_merge(raw, nested(params))
