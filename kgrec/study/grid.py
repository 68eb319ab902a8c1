"""A study's grid: parse the TOML, expand datasets x noise x recommenders x arms x seeds into
cells, and give every cell a stable identity.

An *arm* is an augmenter with one option variant (``diffkg:no-ckgc``), or an augmenter with no
variants (``none``). Each cell's raw config is the same mapping ``kgrec run --config`` reads,
layered ``base < dataset.config < recommender.config < augmenter.config < variant``, then
resolved by :func:`kgrec.resolve_config`, so an unknown key fails before any
training. A cell's id hashes its *resolved* settings plus its noise: editing the grid adds or
drops cells and never renames old ones, and a changed default in a component reruns exactly
the cells it affects. Schema: docs/studies.md.

*Floors* (``floors = ["pop", "ease"]``) are recommenders fitted in closed form, run with the
``none`` augmenter beside every recommender's arms (one run per dataset and noise setting;
on clean data one run serves every seed, as they are deterministic). ``until_converged``
sets every arm's ``train.epochs`` to a safety cap so that runs end by early stopping; a
``tune`` table tunes every arm (and floor) with the same trials and budget before the
seeds run (:mod:`kgrec.study.tuning`); the tuned values are laid over the arm's settings.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from kgrec.config import (ADDED_DEFAULTS, METRIC_NAMES, RunConfig, deep_merge, load_toml,
                          parse_overrides, without_added_defaults)
from kgrec.data.noise import check_noise
from kgrec.errors import ConfigError
from kgrec.experiment import resolve_config

TOP_KEYS = ("name", "description", "datasets", "recommenders", "augmenters", "seeds", "noise",
            "noise_seed", "baseline", "metrics", "base", "out", "floors", "until_converged", "tune")
TUNE_KEYS = ("trials", "epochs", "seed", "space", "storage", "prune", "floors", "sampler_seed", "timeout")
DEFAULT_MAX_EPOCHS = 500
"""The safety cap of ``until_converged = true``."""
LATER_DEFAULTS: dict[tuple[str, str], Any] = {("eval", "user_quantiles"): [0.25, 0.5, 0.75],
                                              ("eval", "item_quantiles"): [0.5, 0.8],
                                              **ADDED_DEFAULTS}
"""Settings added after studies had run: at these defaults they are left out of cell ids, so
upgrading kgrec does not rerun finished cells; set to anything else, they count."""
FLOOR_PREFIX = "floor:"
CORE_SECTIONS = ("train", "eval", "split", "format", "preset")
DEFAULT_METRICS = ("recall@20", "ndcg@20")


@dataclass(frozen=True)
class Dataset:
    name: str
    spec: str
    format: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Component:
    """A recommender, or an arm: ``label`` names it in tables, ``name`` is the registry name."""

    label: str
    name: str
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Study:
    name: str
    datasets: list[Dataset]
    recommenders: list[Component]
    arms: list[Component]
    seeds: list[int]
    noise: list[dict[str, float]]
    noise_seed: int | None
    """None: each cell's noise is seeded by its own training seed."""
    baseline: str
    """Arm label the others are compared with; "" when the study has none."""
    metrics: list[str]
    base: dict[str, Any]
    description: str = ""
    out: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    floors: list[Component] = field(default_factory=list)
    """Closed-form recommenders (``pop``, ``ease``) run beside the arms; labels ``floor:<name>``."""
    until_converged: int | None = None
    """Safety cap on epochs when the study trains until converged (None: ``train.epochs``)."""
    tune: "TuneSpec | None" = None


@dataclass(frozen=True)
class TuneSpec:
    """A study's ``[tune]`` table: the same trials and budget for every arm."""

    trials: int
    epochs: int | None = None
    """Budget per trial (``train.epochs`` of every trial; default: the cell's)."""
    seed: int | None = None
    """``train.seed`` of the trials (default: the study's first seed)."""
    space: Any = None
    """A TOML path or table overriding the components' search spaces."""
    storage: str | None = None
    prune: bool = True
    floors: bool = True
    """Tune floors that have a search space (``ease.l2``) too."""
    sampler_seed: int = 0
    timeout: float | None = None
    """Seconds after which each arm's tuning stops starting trials (equal budgets need None)."""


@dataclass(frozen=True)
class Cell:
    id: str
    dataset: str
    noise: tuple[tuple[str, float], ...]
    recommender: str
    arm: str
    augmenter: str
    seed: int
    noise_seed: int | None
    config: RunConfig
    floor: bool = False
    """A floor (``pop``, ``ease``) shown beside this recommender's arms."""

    @property
    def noise_label(self) -> str:
        return noise_label(dict(self.noise))

    @property
    def group(self) -> tuple[str, str, str, str]:
        """What seeds are aggregated over: (dataset, noise, recommender, arm)."""
        return (self.dataset, self.noise_label, self.recommender, self.arm)

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "dataset": self.dataset, "noise": dict(self.noise),
                "noise_label": self.noise_label, "noise_seed": self.noise_seed,
                "recommender": self.recommender, "arm": self.arm, "augmenter": self.augmenter,
                "seed": self.seed, "floor": self.floor, "config": self.config.to_dict()}


def noise_label(noise: Mapping[str, float]) -> str:
    return ", ".join(f"{t}={f:g}" for t, f in sorted(noise.items())) or "clean"


def identity(config: RunConfig) -> dict[str, Any]:
    """The settings a cell id hashes: the resolved config less :data:`LATER_DEFAULTS` left at
    their defaults."""
    return without_added_defaults(config.to_dict(), LATER_DEFAULTS)


def cell_id(config: RunConfig, noise: Mapping[str, float], noise_seed: int | None) -> str:
    """sha256 of the resolved settings and the noise, as canonical JSON; 16 hex digits."""
    payload = {"config": identity(config), "noise": dict(sorted(noise.items()))}
    if noise:  # clean cells ignore the noise seed, so changing it never reruns them
        payload["noise_seed"] = noise_seed
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_study(path: str | Path | None, overrides: Mapping[str, Any] | None = None,
               settings: Mapping[str, Any] | None = None) -> Study:
    """Read a study TOML (or none: everything from ``overrides``). ``overrides`` replace its
    top-level keys; ``settings`` (parsed ``--set``) are laid over its ``base``."""
    raw = load_toml(path) if path else {}
    raw.update(overrides or {})
    if settings:
        raw["base"] = deep_merge(_table(raw.get("base", {}), "base"), settings)
    return parse_study(raw, default_name=Path(path).stem if path else "study")


GRID_KEYS = ("recommender", "augmenter", "dataset", "format")


def settings_file(path: str | Path, key: str) -> dict[str, Any]:
    """A TOML file of settings (``kgrec tune``'s ``best.toml``, a ``kgrec run --config``
    file) as a study layer: the grid's keys and ``train.seed`` are dropped (the study sets
    them)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{key}: no such settings file {p}")
    raw = {k: v for k, v in load_toml(p).items() if k not in GRID_KEYS}
    if isinstance(raw.get("train"), Mapping):
        raw["train"] = {k: v for k, v in raw["train"].items() if k != "seed"}
    return raw


def _table(value: Any, key: str) -> dict[str, Any]:
    if isinstance(value, str):
        return settings_file(value, key)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return parse_overrides(value)  # ["diffkg.ckgc=false", ...], as --set takes them
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key} must be a table of settings, a list of KEY=VALUE strings or the "
                          "path of a TOML settings file")
    return dict(value)


def _components(value: Any, key: str, variants: bool) -> list[Component]:
    """``["a", "b"]``, or a table ``name -> {config = {...}, variants = {label = {...}}}``."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        if not value or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key} must be a non-empty list of names or a table")
        value = {name: {} for name in value}
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(f"{key} must be a non-empty list of names or a table")
    out = []
    for name, spec in value.items():
        spec = dict(spec or {})
        allowed = ("config", "variants") if variants else ("config",)
        for extra in set(spec) - set(allowed):
            raise ConfigError(f"{key}.{name}: unknown key {extra!r} (allowed: {', '.join(allowed)})")
        common = _table(spec.get("config", {}), f"{key}.{name}.config")
        table = spec.get("variants")
        if not table:
            out.append(Component(name, name, common))
            continue
        if not isinstance(table, Mapping):
            raise ConfigError(f"{key}.{name}.variants must be a table: label = {{settings}}")
        for label, settings in table.items():
            over = _table(settings, f"{key}.{name}.variants.{label}")
            out.append(Component(f"{name}:{label}", name, deep_merge(common, over)))
    return out


def _datasets(value: Any) -> list[Dataset]:
    if isinstance(value, (str, Mapping)):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ConfigError("datasets must be a non-empty list of specs or {name, spec, format, config} tables")
    out = []
    for item in value:
        if isinstance(item, str):
            name = item if item.startswith("synthetic") else (Path(item).name or item)
            out.append(Dataset(name, item))
            continue
        if not isinstance(item, Mapping) or not isinstance(item.get("spec"), str):
            raise ConfigError("a datasets entry must be a spec string or a table with spec = \"...\"")
        for extra in set(item) - {"name", "spec", "format", "config"}:
            raise ConfigError(f"datasets entry {item['spec']!r}: unknown key {extra!r}")
        out.append(Dataset(str(item.get("name") or Path(item["spec"]).name or item["spec"]),
                           item["spec"], item.get("format"), _table(item.get("config", {}), "datasets.config")))
    names = [d.name for d in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"two datasets share the name {_dup(names)!r}; give them names")
    return out


def _noise(value: Any) -> list[dict[str, float]]:
    """``{social = [0, 0.2]}`` (product over targets) or ``[{}, {social = 0.2}]``; deduplicated."""
    if value is None:
        settings: list = [{}]
    elif isinstance(value, Mapping):
        targets = list(value)
        levels = [v if isinstance(v, list) else [v] for v in value.values()]
        settings = [dict(zip(targets, combo)) for combo in itertools.product(*levels)]
    elif isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        settings = value
    else:
        raise ConfigError("noise must be a table target = [fractions] or a list of {target = fraction}")
    out: list[dict[str, float]] = []
    for setting in settings:
        checked = check_noise(setting)
        if checked not in out:
            out.append(checked)
    return out


def _seeds(value: Any) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return list(range(1, value + 1))
    if (not isinstance(value, list) or not value
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in value)):
        raise ConfigError("seeds must be a list of integers or a count (3 means [1, 2, 3])")
    if len(set(value)) != len(value):
        raise ConfigError(f"seed {_dup(value)} is listed twice")
    return list(value)


def _dup(values: list) -> Any:
    return next(v for v in values if values.count(v) > 1)


def _check_sections(mapping: Mapping[str, Any], where: str, components: set[str]) -> None:
    allowed = set(CORE_SECTIONS) | components
    for key in mapping:
        if key in ("recommender", "augmenter", "dataset"):
            raise ConfigError(f"{where}: {key!r} is set by the grid; list it in the study's {key}s")
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"{where}: unknown section {key!r}{hint} (allowed: train, eval, split, "
                              f"format, preset and the grid's component names)")
    if isinstance(mapping.get("train"), Mapping) and "seed" in mapping["train"]:
        raise ConfigError(f"{where}: set seeds with the study's `seeds`, not train.seed")


def parse_study(raw: Mapping[str, Any], default_name: str = "study") -> Study:
    """Validate a study mapping (a parsed TOML file) into a :class:`Study`."""
    for key in raw:
        if key not in TOP_KEYS:
            close = difflib.get_close_matches(key, TOP_KEYS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"unknown study key {key!r}{hint} (keys: {', '.join(TOP_KEYS)})")
    for key in ("datasets", "recommenders", "augmenters", "seeds"):
        if key not in raw:
            raise ConfigError(f"a study needs {key!r}")
    name = str(raw.get("name") or default_name)
    recommenders = _components(raw["recommenders"], "recommenders", variants=False)
    arms = _components(raw["augmenters"], "augmenters", variants=True)
    datasets = _datasets(raw["datasets"])
    floors = _floors(raw.get("floors", []))
    components = {c.name for c in recommenders + arms + floors}
    base = _table(raw.get("base", {}), "base")
    _check_sections(base, "base", components)
    for item in datasets:
        _check_sections(item.config, f"dataset {item.name}", components)
    for comp in recommenders + arms + floors:
        _check_sections(comp.config, comp.label, components)
    metrics = raw.get("metrics", list(DEFAULT_METRICS))
    if isinstance(metrics, str):
        metrics = [metrics]
    for metric in metrics:
        m, _, k = str(metric).partition("@")
        if m not in METRIC_NAMES or not k.isdigit():
            raise ConfigError(f"metric {metric!r} must look like recall@20 ({', '.join(METRIC_NAMES)})")
    noise_seed = raw.get("noise_seed", "seed")
    if noise_seed != "seed" and (not isinstance(noise_seed, int) or isinstance(noise_seed, bool)):
        raise ConfigError('noise_seed must be an integer or "seed" (each cell\'s own training seed)')
    labels = [a.label for a in arms]
    if "baseline" in raw:
        baseline = str(raw["baseline"])
        if baseline not in labels:
            raise ConfigError(f"baseline {baseline!r} is not one of the study's arms ({', '.join(labels)})")
    else:  # the arm called none, else the first variant of the none augmenter
        baseline = "none" if "none" in labels else next((a.label for a in arms if a.name == "none"), "")
    return Study(name=name, datasets=datasets, recommenders=recommenders, arms=arms,
                 seeds=_seeds(raw["seeds"]), noise=_noise(raw.get("noise")),
                 noise_seed=None if noise_seed == "seed" else noise_seed, baseline=baseline,
                 metrics=list(metrics), base=base, description=str(raw.get("description", "")),
                 out=raw.get("out"), raw=dict(raw), floors=floors,
                 until_converged=_until_converged(raw.get("until_converged")),
                 tune=_tune(raw.get("tune")))


def _floors(value: Any) -> list[Component]:
    """``["pop", "ease"]`` or ``{ ease = { config = { ease.l2 = 300 } } }``; each must be a
    recommender fitted in closed form."""
    from kgrec import registry

    if value in ([], {}, None):
        return []
    out = []
    for comp in _components(value, "floors", variants=False):
        cls = registry.load("recommender", comp.name)
        if not getattr(cls, "closed_form", False):
            raise ConfigError(f"floors: {comp.name!r} is not fitted in closed form (floors are pop, "
                              "ease or another closed_form recommender); list it under recommenders")
        out.append(Component(FLOOR_PREFIX + comp.name, comp.name, comp.config))
    return out


def _until_converged(value: Any) -> int | None:
    """``true`` (cap :data:`DEFAULT_MAX_EPOCHS`), ``{ max_epochs = N }`` or an epoch cap."""
    if value is None or value is False:
        return None
    if value is True:
        return DEFAULT_MAX_EPOCHS
    if isinstance(value, Mapping) and set(value) <= {"max_epochs"}:
        value = value.get("max_epochs", DEFAULT_MAX_EPOCHS)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise ConfigError("until_converged must be true, a safety cap in epochs, or { max_epochs = N }")


def _tune(value: Any) -> TuneSpec | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError("tune must be a table: { trials = 20, epochs = 30, ... }")
    for key in value:
        if key not in TUNE_KEYS:
            close = difflib.get_close_matches(key, TUNE_KEYS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"unknown tune key {key!r}{hint} (keys: {', '.join(TUNE_KEYS)})")

    def integer(key: str, minimum: int) -> int | None:
        v = value.get(key)
        if v is None:
            return None
        if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
            raise ConfigError(f"tune.{key} must be an integer >= {minimum}")
        return v

    trials = integer("trials", 1)
    if trials is None:
        raise ConfigError("tune needs trials (the same number for every arm)")
    for key in ("prune", "floors"):
        if not isinstance(value.get(key, True), bool):
            raise ConfigError(f"tune.{key} must be true or false")
    space = value.get("space")
    if space is not None and not isinstance(space, (str, Mapping)):
        raise ConfigError("tune.space must be the path of a TOML file or a table")
    timeout = value.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ConfigError("tune.timeout must be a positive number of seconds")
    storage = value.get("storage")
    if storage is not None and not isinstance(storage, str):
        raise ConfigError("tune.storage must be an Optuna storage URL")
    return TuneSpec(trials=trials, epochs=integer("epochs", 1), seed=integer("seed", 0),
                    space=space, storage=storage, prune=value.get("prune", True),
                    floors=value.get("floors", True), sampler_seed=integer("sampler_seed", 0) or 0,
                    timeout=float(timeout) if timeout is not None else None)


def raw_config(study: Study, dataset: Dataset, rec: Component, arm: Component, seed: int,
               tuned: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``kgrec run --config`` mapping of one cell (before resolution); ``tuned`` (dotted
    keys) is laid over the arm's settings."""
    from kgrec.tune.space import nested

    raw: dict[str, Any] = {}
    for layer in (study.base, dataset.config, rec.config, arm.config, nested(tuned or {})):
        raw = deep_merge(raw, layer)
    others = {c.name for c in study.recommenders + study.arms + study.floors} - {rec.name, arm.name}
    raw = {k: v for k, v in raw.items() if k not in others}
    raw.update(recommender=rec.name, augmenter=arm.name, dataset=dataset.spec)
    if dataset.format:
        raw["format"] = dataset.format
    raw["train"] = {**raw.get("train", {}), "seed": seed}
    if study.until_converged is not None:
        raw["train"]["epochs"] = study.until_converged
    return raw


def floor_raw_config(study: Study, dataset: Dataset, floor: Component, seed: int,
                     tuned: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A floor's mapping: the shared train / eval / split settings, the dataset's, the floor's
    own section and its tuned values; no augmenter (nor its preset)."""
    from kgrec.tune.space import nested

    raw: dict[str, Any] = {}
    for layer in (study.base, dataset.config, floor.config, nested(tuned or {})):
        raw = deep_merge(raw, layer)
    keep = (set(CORE_SECTIONS) - {"preset"}) | {floor.name}
    raw = {k: v for k, v in raw.items() if k in keep}
    raw.update(recommender=floor.name, augmenter="none", dataset=dataset.spec)
    if dataset.format:
        raw["format"] = dataset.format
    raw["train"] = {**raw.get("train", {}), "seed": seed}
    return raw


TunedKey = tuple[str, str, str]
"""(dataset name, recommender label, arm label); a floor's is (dataset name, "", floor label)."""


def expand(study: Study, tuned: Mapping[TunedKey, Mapping[str, Any]] | None = None) -> list[Cell]:
    """Every cell, ordered dataset > noise > recommender > arm (then floors) > seed; resolves
    every config (so a bad key anywhere fails here) and checks the tabulated metrics are
    evaluated. ``tuned`` holds each arm's tuned values (:mod:`kgrec.study.tuning`)."""
    tuned = tuned or {}
    cells = []
    for dataset, noise, rec in itertools.product(study.datasets, study.noise, study.recommenders):
        for arm in study.arms:
            values = tuned.get((dataset.name, rec.label, arm.label))
            for seed in study.seeds:
                raw = raw_config(study, dataset, rec, arm, seed, values)
                cells.append(_cell(study, raw, dataset, noise, rec.label, arm, seed))
        for floor in study.floors:
            values = tuned.get((dataset.name, "", floor.label))
            for seed in study.seeds:
                # deterministic: on clean data one run (the first seed's) serves every seed
                run_seed = seed if noise else study.seeds[0]
                raw = floor_raw_config(study, dataset, floor, run_seed, values)
                cells.append(_cell(study, raw, dataset, noise, rec.label, floor, seed, run_seed))
    return cells


def _cell(study: Study, raw: dict[str, Any], dataset: Dataset, noise: Mapping[str, float], rec_label: str,
          arm: Component, seed: int, run_seed: int | None = None) -> Cell:
    try:
        config = resolve_config(raw)
    except ConfigError as exc:
        raise ConfigError(f"cell {arm.label} + {rec_label} on {dataset.name}: {exc}") from None
    for metric in study.metrics:
        if int(metric.split("@")[1]) not in config.eval.topk:
            raise ConfigError(f"metric {metric} is not evaluated (eval.topk = {list(config.eval.topk)})")
    nseed = (study.noise_seed if study.noise_seed is not None else (run_seed or seed)) if noise else None
    floor = arm.label.startswith(FLOOR_PREFIX)
    return Cell(cell_id(config, noise, nseed), dataset.name, tuple(sorted(noise.items())), rec_label,
                arm.label, "none" if floor else arm.name, seed, nseed, config, floor)
