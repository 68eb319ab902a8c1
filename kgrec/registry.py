"""Find recommenders and augmenters through Python entry points.

Built-ins register in kgrec's own ``pyproject.toml`` exactly as third-party plugins do in
theirs (groups ``kgrec.recommenders`` and ``kgrec.augmenters``), so the path a plugin
author relies on is the one every run exercises.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Literal

from kgrec.errors import PluginError

Kind = Literal["recommender", "augmenter"]
GROUPS: dict[str, str] = {"recommender": "kgrec.recommenders", "augmenter": "kgrec.augmenters"}


@dataclass(frozen=True)
class PluginInfo:
    """One registered component and where it comes from."""

    kind: str
    name: str
    target: str
    distribution: str
    version: str
    location: str


def _entry_points(kind: Kind) -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUPS[kind]):
        found.setdefault(ep.name, ep)  # first on sys.path wins, as importlib resolves it
    return found


def available(kind: Kind) -> list[str]:
    return sorted(_entry_points(kind))


def describe(kind: Kind) -> list[PluginInfo]:
    """Every registered component of ``kind`` with its distribution and install location."""
    infos = []
    for name, ep in sorted(_entry_points(kind).items()):
        dist = ep.dist
        location = ""
        if dist is not None:
            try:
                location = str(dist.locate_file(""))
            except Exception:  # pragma: no cover - exotic metadata providers
                location = ""
        infos.append(PluginInfo(kind, name, ep.value, dist.name if dist else "?",
                                dist.version if dist else "?", location))
    return infos


def load(kind: Kind, name: str) -> type:
    """The class registered as ``name``, checked against the interface it must follow."""
    from kgrec.interfaces import GraphAugmenter, Recommender

    eps = _entry_points(kind)
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none installed"
        raise PluginError(f"unknown {kind} {name!r} (installed: {known}); see `kgrec plugins`")
    try:
        cls = eps[name].load()
    except Exception as exc:
        raise PluginError(f"{kind} {name!r} failed to load from {eps[name].value}: "
                          f"{type(exc).__name__}: {exc}") from None
    base = Recommender if kind == "recommender" else GraphAugmenter
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(f"{kind} {name!r} ({eps[name].value}) is not a subclass of {base.__name__}")
    config_cls = getattr(cls, "Config", None)
    if config_cls is None or not dataclasses.is_dataclass(config_cls):
        raise PluginError(f"{kind} {name!r} must set Config to a dataclass of its options")
    return cls
