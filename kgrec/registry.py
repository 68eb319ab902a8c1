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

from kgrec.config import PRESET_SECTIONS
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
    """Name -> entry point of every ``kind`` component installed.

    Two distributions that register one name would shadow each other silently (whichever
    comes first on ``sys.path`` wins), so that stops with a :class:`PluginError` naming both.
    The same distribution seen twice (an editable install and a copy, say) counts once.
    """
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUPS[kind]):
        first = found.setdefault(ep.name, ep)
        if first is not ep and _dist_name(first) != _dist_name(ep):
            raise PluginError(f"two installed distributions register the {kind} {ep.name!r}: "
                              f"{_dist_name(first)} ({first.value}) and {_dist_name(ep)} "
                              f"({ep.value}); uninstall one of them")
    return found


def _dist_name(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "?"


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


def info(kind: Kind, name: str) -> PluginInfo:
    """Where the registered component ``name`` comes from."""
    for found in describe(kind):
        if found.name == name:
            return found
    known = ", ".join(available(kind)) or "none installed"
    raise PluginError(f"unknown {kind} {name!r} (installed: {known}); see `kgrec plugins`")


def distributions() -> dict[str, str]:
    """Every installed distribution that registers a kgrec component, with its version."""
    return {i.distribution: i.version for kind in GROUPS for i in describe(kind)}  # type: ignore[arg-type]


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


@dataclass(frozen=True)
class Check:
    """One item of ``kgrec plugins --check``: what was checked, and each problem found."""

    label: str
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def find_kinds(name: str) -> list[str]:
    """The kinds under which ``name`` is registered (a name may be in both groups)."""
    return [kind for kind in GROUPS if name in _entry_points(kind)]  # type: ignore[arg-type]


def static_checks(kind: Kind, name: str) -> tuple[list[Check], type | None]:
    """The checks of ``kgrec plugins --check`` that need no training; returns the class when
    it loaded and follows the interface (so that a run can be tried), else None."""
    from kgrec.data.recdata import SIDE_DATA
    from kgrec.interfaces import GraphAugmenter, Recommender

    ep = _entry_points(kind)[name]
    checks = []
    try:
        cls = ep.load()
    except Exception as exc:
        return [Check(f"entry point {GROUPS[kind]}:{name} loads ({ep.value})",
                      (f"{type(exc).__name__}: {exc}",))], None
    checks.append(Check(f"entry point {GROUPS[kind]}:{name} loads ({ep.value})"))
    base = Recommender if kind == "recommender" else GraphAugmenter
    if not (isinstance(cls, type) and issubclass(cls, base)):
        checks.append(Check(f"subclass of {base.__name__}", (f"{ep.value} is not a {base.__name__}",)))
        return checks, None
    checks.append(Check(f"subclass of {base.__name__}"))
    config_cls = getattr(cls, "Config", None)
    if config_cls is None or not dataclasses.is_dataclass(config_cls):
        checks.append(Check("Config is a dataclass", ("set Config to a @dataclass of the options",)))
        return checks, None
    checks.append(Check(f"Config {config_cls.__name__} is a dataclass"))
    problems = _config_problems(config_cls)
    fields = dataclasses.fields(config_cls)
    checks.append(Check(f"{len(fields)} config fields, each typed with a default; Config() builds",
                        tuple(problems)))
    presets = getattr(cls, "presets", {}) or {}
    if presets or kind == "augmenter":
        problems = [p for preset, sections in presets.items()
                    for p in _preset_problems(name, config_cls, preset, sections)]
        checks.append(Check(f"presets name existing fields ({', '.join(sorted(presets)) or 'none'})",
                            tuple(problems)))
    requires = getattr(cls, "requires", frozenset())
    if not isinstance(requires, (set, frozenset)):
        checks.append(Check("requires names known side data",
                            (f"requires must be a frozenset of side-data names; got {requires!r}",)))
    else:
        unknown = sorted(str(r) for r in requires if r not in SIDE_DATA)
        checks.append(Check(f"requires names known side data ({', '.join(sorted(map(str, requires))) or 'none'})",
                            (f"requires has unknown side data {', '.join(unknown)} (known: "
                             f"{', '.join(SIDE_DATA)})",) if unknown else ()))
    failed = any(not c.ok for c in checks)
    return checks, None if failed else cls


def _config_problems(config_cls: type) -> list[str]:
    import typing

    problems = []
    try:
        hints = typing.get_type_hints(config_cls)
    except Exception as exc:
        return [f"Config's type annotations do not resolve: {type(exc).__name__}: {exc}"]
    for f in dataclasses.fields(config_cls):
        if f.name not in hints:
            problems.append(f"field {f.name} has no type")
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            problems.append(f"field {f.name} has no default")
    if not problems:
        try:
            config_cls()
        except Exception as exc:
            problems.append(f"Config() with the defaults fails: {type(exc).__name__}: {exc}")
    return problems


def _preset_problems(name: str, config_cls: type, preset: str, sections) -> list[str]:
    """Unknown sections, unknown keys and ill-typed values of one preset.

    A section other than :data:`PRESET_SECTIONS` must be an installed recommender's name; its
    settings are built with that recommender's ``Config``, as a run that chooses it would.
    """
    from kgrec.config import EvalConfig, SplitConfig, TrainConfig, build
    from kgrec.errors import ConfigError

    if not isinstance(sections, dict):
        return [f"preset {preset}: must map sections to settings"]
    problems = []
    targets = {"augmenter": config_cls, "train": TrainConfig, "eval": EvalConfig, "split": SplitConfig}
    recommenders = available("recommender")
    for section, values in sections.items():
        where = f"preset {preset}: [{section}]"
        if section not in PRESET_SECTIONS and section not in recommenders:
            problems.append(f"{where} is not a section ({', '.join(PRESET_SECTIONS)}) nor an "
                            f"installed recommender's name ({', '.join(recommenders)})")
        elif not isinstance(values, dict):
            problems.append(f"{where} must map fields to values")
        elif section == "recommender":
            # A preset's backbone settings apply to whichever recommender is chosen: each key
            # must at least be an option of some installed recommender.
            known = set()
            for rec_name in recommenders:
                try:
                    known |= {f.name for f in dataclasses.fields(load("recommender", rec_name).Config)}
                except PluginError:
                    continue
            problems += [f"{where} {key} is no installed recommender's option"
                         for key in values if key not in known]
        elif section not in PRESET_SECTIONS:
            # One backbone's own settings, applied only when that recommender is chosen.
            try:
                build(load("recommender", section).Config, values, section)
            except (ConfigError, PluginError) as exc:
                problems.append(f"{where} {exc}")
        else:
            try:
                build(targets[section], values, name if section == "augmenter" else section)
            except ConfigError as exc:
                problems.append(f"{where} {exc}")
    return problems
