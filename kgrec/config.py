"""Typed, validated configuration: one dataclass per component, no global ``args``.

A run's settings resolve in this order, later winning: the dataclasses' defaults, the
augmenter's named preset, the ``--config`` TOML file, then each ``--set key=value``. Keys are
dotted: ``train.lr``, ``split.seed``, and ``<component>.<field>`` for the chosen recommender
and augmenter (``lightgcn.layers=3``, ``diffkg.keep_rate=0.1``). An unknown key or a value of
the wrong type is a :class:`~kgrec.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from kgrec.errors import ConfigError


@dataclass
class TrainConfig:
    """How the backbone is trained and the epoch selected."""

    epochs: int = 50
    """Maximum number of epochs."""
    batch_size: int = 1024
    """BPR triples per step."""
    lr: float = 1e-3
    """Adam learning rate of the backbone (and of augmenter groups without their own)."""
    lr_decay: float = 1.0
    """Multiply every learning rate by this after each epoch (RecDiff uses 0.985)."""
    patience: int = 10
    """Stop after this many evaluations without a better validation score."""
    eval_every: int = 1
    """Evaluate on validation every this many epochs."""
    select_metric: str = "recall@20"
    """Validation metric that selects the epoch (``name@k``)."""
    seed: int = 2024
    """Seeds model initialisation, negative sampling and augmenter randomness."""
    device: str = "auto"
    """``auto`` (cuda when available), ``cpu`` or ``cuda``."""
    backend: str = "auto"
    """Graph kernels: ``auto`` (DGL where usable), ``dgl`` or ``torch``."""
    eval_batch_size: int = 1024
    """Users scored at once in full-ranking evaluation (one users x items block)."""
    tensorboard: str = ""
    """A directory for TensorBoard event files (``--tensorboard DIR``): each run writes its
    losses, metrics, graph-health numbers and learning rates per epoch under
    ``DIR/<run directory name>``; needs the ``tensorboard`` package. Empty: off."""

    def __post_init__(self) -> None:
        _require(self.epochs >= 1, "train.epochs must be >= 1")
        _require(self.batch_size >= 1, "train.batch_size must be >= 1")
        _require(self.lr > 0, "train.lr must be > 0")
        _require(0 < self.lr_decay <= 1, "train.lr_decay must be in (0, 1]")
        _require(self.patience >= 1, "train.patience must be >= 1")
        _require(self.eval_every >= 1, "train.eval_every must be >= 1")
        _require(self.eval_batch_size >= 1, "train.eval_batch_size must be >= 1")
        _require(self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:"),
                 "train.device must be auto, cpu or cuda")
        _require(self.backend in ("auto", "dgl", "torch"), "train.backend must be auto, dgl or torch")
        name, _, k = self.select_metric.partition("@")
        _require(name in METRIC_NAMES and k.isdigit(),
                 f"train.select_metric must look like recall@20 (metrics: {', '.join(METRIC_NAMES)})")


METRIC_NAMES = ("recall", "ndcg", "precision", "hit")
EVAL_PROTOCOLS = ("full", "sampled")


@dataclass
class EvalConfig:
    """Full-ranking evaluation."""

    topk: tuple[int, ...] = (10, 20, 50)
    """Cut-offs K at which every metric is reported."""
    track_test: bool = False
    """Also evaluate the test split at every validation and log it as ``test_<metric>`` in the
    history: for measuring how fast a model reaches an accuracy, or for comparing with
    reference code that picks its epoch on test. Nothing is selected on it."""

    user_quantiles: tuple[float, ...] = (0.25, 0.5, 0.75)
    """Cut points (quantiles of the evaluated users' training degree) of the user groups whose
    test metrics a run reports separately (``metrics.json`` "groups"); ``[]``: no groups."""
    item_quantiles: tuple[float, ...] = (0.5, 0.8)
    """Cut points (shares of the catalogue, items ranked by training popularity) of the item
    groups: recall on each group's held-out items and the share of the top K drawn from it.
    The default gives the least popular 50 %, the next 30 % and the most popular 20 %."""

    protocol: str = "full"
    """``full``: rank every item the user has not trained on (the default, and the protocol to
    report). ``sampled``: rank each user's held-out items among ``eval.negatives`` random
    items per held-out item (RecBole's ``uni100``, NCF's 1 + 100): a weaker protocol that
    inflates scores and can reorder models, offered only to compare with papers that use it."""
    negatives: int = 100
    """Sampled protocol: negatives drawn per held-out item, uniformly from the items the user
    has no interaction with in any split."""
    negatives_seed: int = 2024
    """Sampled protocol: seeds the negatives, drawn once per split; kept apart from
    ``train.seed`` so that every seed and arm of a study ranks against the same items."""
    on: str = "test"
    """Which split a run reports: ``test`` (the default) selects the epoch on validation and
    reports test metrics at that epoch; ``valid`` selects the epoch on validation the same
    way and reports only validation, never reading the test split (model development, or a
    dataset without a test part: ``split.test_ratio = 0``)."""

    def __post_init__(self) -> None:
        _require(len(self.topk) > 0 and all(k >= 1 for k in self.topk), "eval.topk must be positive")
        _require(self.protocol in EVAL_PROTOCOLS,
                 f"eval.protocol must be one of {', '.join(EVAL_PROTOCOLS)}; got {self.protocol!r}")
        _require(self.negatives >= 1, "eval.negatives must be >= 1")
        _require(self.on in ("test", "valid"), f"eval.on must be test or valid; got {self.on!r}")
        for name in ("user_quantiles", "item_quantiles"):
            cuts = getattr(self, name)
            _require(all(0 < q < 1 for q in cuts) and list(cuts) == sorted(set(cuts)),
                     f"eval.{name} must be increasing cut points in (0, 1), e.g. [0.25, 0.5, 0.75]")


SPLIT_METHODS = ("auto", "random", "temporal", "user_temporal", "leave_one_out", "given")


@dataclass
class SplitConfig:
    """How interactions are split into train / validation / test (docs/data-format.md,
    "Splits"). Every method is deterministic in the data and ``seed``, so runs and the arms of
    a study that share these settings share the split (the run records its sha256)."""

    method: str = "auto"
    """``auto``: the dataset's own split where it has one, else ``random``. ``random``: per
    user, at random (the ratios, or the last ``*_n`` of a seeded shuffle). ``temporal``: one
    global time cut (the latest ``test_ratio`` of interactions, or those from ``test_from``
    on, are test; the ``valid_ratio`` before them validation). ``user_temporal``: per user,
    the latest ``test_n`` (or ``test_ratio``) to test and the ones before to validation.
    ``leave_one_out``: per user one test and one validation pair, the latest by time
    (``order = "time"``) or random ones (``order = "random"``). ``given``: the dataset's own
    split (its files, or ``data.split_column``)."""
    valid_ratio: float = 0.1
    test_ratio: float = 0.1
    valid_n: int = 0
    """Per-user methods: hold out this many pairs per user for validation instead of a ratio."""
    test_n: int = 0
    """Per-user methods: hold out this many pairs per user for test instead of a ratio."""
    order: str = "time"
    """``leave_one_out``: hold out the latest pairs (``time``) or random ones (``random``)."""
    test_from: float | str | datetime.date | None = None
    """``temporal``: interactions at or after this time are test (a number in the time
    column's units, or an ISO date such as ``"2015-01-01"`` for date/time columns)."""
    valid_from: float | str | datetime.date | None = None
    """``temporal``: interactions at or after this time (and before ``test_from``) are validation."""
    seed: int = 2024
    """Kept apart from ``train.seed`` so that seeds vary training over one fixed split."""

    def __post_init__(self) -> None:
        _require(self.method in SPLIT_METHODS,
                 f"split.method must be one of {', '.join(SPLIT_METHODS)}; got {self.method!r}")
        for name in ("valid_ratio", "test_ratio"):
            value = getattr(self, name)
            _require(0 <= value < 1, f"split.{name} must be in [0, 1); got {value}")
        _require(self.valid_ratio + self.test_ratio < 1,
                 f"split.valid_ratio + split.test_ratio = {self.valid_ratio + self.test_ratio:g} "
                 "leaves no training part; their sum must be below 1")
        for name in ("valid_n", "test_n"):
            _require(getattr(self, name) >= 0, f"split.{name} must be >= 0")
        _require(self.order in ("time", "random"), f"split.order must be time or random; got {self.order!r}")
        for name in ("test_from", "valid_from"):
            value = getattr(self, name)
            if isinstance(value, (datetime.date, datetime.time)):  # TOML dates: keep them as text
                setattr(self, name, value.isoformat())
            _require(value is None or (isinstance(value, (int, float, str, datetime.date))
                                       and not isinstance(value, bool)),
                     f"split.{name} must be a time (a number or an ISO date); got {value!r}")


@dataclass
class TableSpec:
    """One side table (``[data.kg]``, ``[data.links]``, ``[data.social]``): where it is and how
    to read it. Empty settings take the ``[data]`` section's."""

    path: str = ""
    """The file (CSV, TSV, any separator, or Parquet); relative paths are taken from the
    interactions file's directory. Empty: no such table."""
    columns: tuple[str | int, ...] = ()
    """The table's role columns in order (kg: head, relation, tail; links: item, entity;
    social: source, target), as header names or 1-based positions. Empty: found by name
    (``head_id``/``head``, ...) or else the first columns in order."""
    sep: str = ""
    header: bool | str = ""
    quote: str = ""
    encoding: str = ""
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require(self.header in ("", "auto", True, False), "header must be true, false or \"auto\"")


@dataclass
class DataConfig:
    """How a tabular dataset (CSV, TSV, Parquet) is read and filtered: ``data.*``.

    Columns are header names (a RecBole ``name:type`` header counts by ``name``) or 1-based
    positions; a column left empty is found by common names (``user_id``, ``userId``,
    ``user``; ``item_id``, ``movieId``, ...). Filters run in the order dedup, rating
    threshold, side-data requirements, k-core, and the run records what each removed.
    Filters apply to every format; columns and side tables to the ``tabular`` format.
    """

    user: str | int = ""
    """The interactions' user column (name or 1-based position); empty: detected."""
    item: str | int = ""
    """The item column; empty: detected."""
    rating: str | int = ""
    """The rating column (needed by ``rating_min``); empty: ``rating`` if present, else none."""
    time: str | int = ""
    """The time column (numbers, or dates/times; needed by the temporal splits and by
    ``dedup`` by time); empty: ``timestamp`` / ``time`` if present, else none."""
    split_column: str | int = ""
    """A column holding the dataset's own split (``train`` / ``valid`` / ``test``, or 0 / 1 /
    2), used by ``split.method = "given"`` (and ``auto``)."""
    valid_file: str = ""
    """The dataset's own validation pairs, a second table in the same style (the main file is
    then the training part)."""
    test_file: str = ""
    """The dataset's own test pairs, a table in the same style."""
    sep: str = "auto"
    """Field separator: one character (``,`` ``;`` ``|``), ``\\t`` or ``tab``, a longer string
    (``::``), ``whitespace`` (runs of spaces and tabs, like pandas' ``\\s+``), or ``auto``: by
    extension (``.csv`` comma, ``.tsv`` tab), else sniffed from the first lines."""
    header: bool | str = "auto"
    """Whether the first line names the columns: true, false or ``auto`` (a header when the
    first line holds a mapped or well-known column name, or no number where the second has)."""
    quote: str = '"'
    """Quote character (fields may then hold the separator); ``none`` for no quoting."""
    encoding: str = "utf-8"
    """Text encoding of the tables (any Python codec: ``latin-1``, ``cp1252``, ...)."""
    names: tuple[str, ...] = ()
    """Column names for a file without a header (else they are ``1``, ``2``, ...)."""
    kg: TableSpec = field(default_factory=TableSpec)
    """Knowledge-graph triples (head, relation, tail): tokens, entities and relations by name."""
    links: TableSpec = field(default_factory=TableSpec)
    """Item-to-entity links (item, entity). Without it an item is the entity of the same id."""
    social: TableSpec = field(default_factory=TableSpec)
    """Directed social ties between users (source, target)."""
    features: dict[str, str] = field(default_factory=dict)
    """Item features per modality: ``{image = "image.npy"}`` (row ``i`` is the item whose id is
    the integer ``i``) or a table (``"text.csv"``: an item id column, then numeric columns)."""
    dedup: str = "first"
    """Repeated (user, item) pairs keep one row: the ``first`` or ``last`` (by time where there
    is a time column, else by file order)."""
    rating_min: float | None = None
    """Keep only interactions rated at least this (explicit to implicit feedback)."""
    user_core: int = 0
    """k-core: users need at least this many interactions (iterated with ``item_core`` until
    both hold)."""
    item_core: int = 0
    """k-core: items need at least this many interactions."""
    require: tuple[str, ...] = ()
    """Drop interactions of items or users missing from side data: ``kg`` (items without an
    entity in the knowledge graph), ``social`` (users without a tie), ``modalities`` (items
    without a feature row)."""

    def __post_init__(self) -> None:
        _require(self.header in ("auto", True, False), "data.header must be true, false or \"auto\"")
        _require(self.dedup in ("first", "last"), f"data.dedup must be first or last; got {self.dedup!r}")
        _require(self.user_core >= 0 and self.item_core >= 0, "data.user_core and data.item_core must be >= 0")
        _require(self.sep != "", "data.sep must not be empty (use auto)")
        bad = [r for r in self.require if r not in ("kg", "social", "modalities")]
        _require(not bad, f"data.require takes kg, social and modalities; got {', '.join(map(repr, bad))}")
        _require(all(isinstance(k, str) and isinstance(v, str) for k, v in self.features.items()),
                 "data.features maps modality names to file paths: {image = \"image.npy\"}")

    def filters_active(self) -> bool:
        """Whether a filter beyond the default dedup is asked for."""
        return bool(self.rating_min is not None or self.user_core > 1 or self.item_core > 1 or self.require)


ADDED_DEFAULTS: dict[tuple[str, str], Any] = {
    ("eval", "protocol"): "full", ("eval", "negatives"): 100, ("eval", "negatives_seed"): 2024,
    ("eval", "on"): "test", ("train", "tensorboard"): "", ("split", "method"): "auto",
    ("split", "valid_n"): 0, ("split", "test_n"): 0, ("split", "order"): "time",
    ("split", "test_from"): None, ("split", "valid_from"): None}
"""Settings added with the tabular data, filters, splits and protocols (issue 18): at these
defaults (and a ``data`` section at its defaults) they are left out of identities made before
they existed, such as study cell ids and tuning fingerprints (:func:`without_added_defaults`)."""


def without_added_defaults(raw: Mapping[str, Any],
                           added: Mapping[tuple[str, str], Any] = ADDED_DEFAULTS) -> dict[str, Any]:
    """``raw`` (a :meth:`RunConfig.to_dict`) less the ``added`` settings left at their defaults,
    and less a ``data`` section that is all defaults."""
    out = dict(raw)
    for (section, key), default in added.items():
        if isinstance(out.get(section), Mapping) and key in out[section] and out[section][key] == default:
            out[section] = {k: v for k, v in out[section].items() if k != key}
    if out.get("data") == as_dict(DataConfig()):
        del out["data"]
    return out


@dataclass
class RunConfig:
    """Everything one ``kgrec run`` needs, resolved. Component options are typed by the
    component's own ``Config`` class and kept as dataclass instances here."""

    recommender: str = "lightgcn"
    augmenter: str = "none"
    dataset: str = "synthetic"
    format: str = "auto"
    preset: str = ""
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    data: DataConfig = field(default_factory=DataConfig)
    recommender_config: Any = None
    augmenter_config: Any = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in
                               ("recommender", "augmenter", "dataset", "format", "preset")}
        out["train"] = as_dict(self.train)
        out["eval"] = as_dict(self.eval)
        out["split"] = as_dict(self.split)
        out["data"] = as_dict(self.data)
        out[self.recommender] = as_dict(self.recommender_config)
        if self.augmenter != self.recommender:
            out[self.augmenter] = as_dict(self.augmenter_config)
        return out


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def as_dict(instance: Any) -> dict[str, Any]:
    """A config dataclass as plain JSON-able values (tuples become lists, nested configs tables)."""
    if instance is None:
        return {}
    out = {}
    for f in dataclasses.fields(instance):
        value = getattr(instance, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = as_dict(value)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def build(cls: type, values: Mapping[str, Any], section: str) -> Any:
    """Construct dataclass ``cls`` from ``values``, checking every key and type.

    A field that is itself a config dataclass (``diffkg.diffusion``) takes a table, laid over
    that field's default instance, so ``diffusion.steps = 3`` keeps the owner's other defaults.
    """
    if not dataclasses.is_dataclass(cls):
        raise ConfigError(f"[{section}] has no typed config class")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"unknown config key {section}.{key}{_suggestion(cls, key, section)}")
        nested = hints[key]
        if dataclasses.is_dataclass(nested) and isinstance(nested, type):
            kwargs[key] = _build_nested(fields[key], nested, value, f"{section}.{key}")
        else:
            kwargs[key] = coerce(value, nested, f"{section}.{key}")
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[{section}] {exc}") from None


def _build_nested(f: dataclasses.Field, cls: type, value: Any, section: str) -> Any:
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(f"{section} must be a table of settings; got {value!r}")
    if f.default_factory is not dataclasses.MISSING:
        base = as_dict(f.default_factory())
    elif f.default is not dataclasses.MISSING:
        base = as_dict(f.default)
    else:
        base = {}
    return build(cls, deep_merge(base, value), section)


def _suggestion(cls: type, key: str, section: str) -> str:
    """Where an unknown key went: the class's ``renamed`` map (a ``ClassVar`` of old key -> new
    dotted key), else a close name among its keys or a nested section's keys."""
    moved = getattr(cls, "renamed", {}).get(key)
    if moved:
        return f"; it is now {section}.{moved}"
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    close = difflib.get_close_matches(key, names, n=1)
    if close:
        return f"; did you mean {section}.{close[0]}?"
    hints = typing.get_type_hints(cls)
    for name in names:
        nested = hints.get(name)
        if dataclasses.is_dataclass(nested) and isinstance(nested, type):
            inner = [f.name for f in dataclasses.fields(nested) if f.init]
            close = [key] if key in inner else difflib.get_close_matches(key, inner, n=1)
            if close:
                return f"; did you mean {section}.{name}.{close[0]}?"
    return ""


def coerce(value: Any, annotation: Any, key: str) -> Any:
    """Check ``value`` against a type annotation, converting only where lossless."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: bad value {value!r}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{key} must be one of {', '.join(map(repr, args))}; got {value!r}")
        return value
    if origin in (tuple, list):
        if isinstance(value, (int, float, str)) and not isinstance(value, bool) and origin is tuple:
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list; got {value!r}")
        item_type = args[0] if args else Any
        items = [coerce(v, item_type, key) for v in value]
        return tuple(items) if origin is tuple else items
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be true or false; got {value!r}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be an integer; got {value!r}")
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key} must be a number; got {value!r}")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key} must be a string; got {value!r}")
    if origin in (dict, Mapping) or annotation is dict:
        if isinstance(value, dict):
            return value
        raise ConfigError(f"{key} must be a table; got {value!r}")
    return value


def parse_value(text: str) -> Any:
    """A ``--set`` value in TOML syntax (``3``, ``1e-3``, ``true``, ``[10, 20]``); else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_overrides(assignments: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["train.lr=0.01", "preset=lastfm"]`` -> ``{"train": {"lr": 0.01}, "preset": "lastfm"}``."""
    out: dict[str, Any] = {}
    for item in assignments:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value; got {item!r}")
        set_dotted(out, key, parse_value(text.strip()))
    return out


def set_dotted(target: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = target
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config key {key}: {part} is a value, not a section")
        node = child
    node[parts[-1]] = value


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``top`` laid over it, tables merged key by key."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML config file; a syntax error names the file and line."""
    from kgrec.errors import DataError

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DataError(p, "config file is not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(p, f"invalid TOML: {exc}") from None


PRESET_SECTIONS = ("augmenter", "recommender", "train", "eval", "split")
"""The fixed sections of an augmenter's preset. Any other section is named after a registered
recommender (``lightgcn``) and holds that backbone's own options (see :func:`preset_layer`)."""


def preset_layer(sections: Mapping[str, Mapping[str, Any]], rec_name: str,
                 aug_name: str) -> dict[str, Any]:
    """An augmenter's preset as a raw config layer for the chosen components.

    ``augmenter`` becomes the augmenter's section and ``recommender`` the chosen backbone's,
    whichever it is (so it may only name options every backbone it is meant for has). A section
    named after a recommender (``{"lightgcn": {"layers": 1}}``) applies only when that
    recommender is chosen, laid over the ``recommender`` section; sections of other
    recommenders are left out. ``train``, ``eval`` and ``split`` pass through.
    ``kgrec plugins --check`` checks that every other section names an installed recommender.
    """
    layer: dict[str, Any] = {}
    for section in ("augmenter", "recommender", "train", "eval", "split", rec_name):
        values = sections.get(section)
        if values is None or (section == rec_name and section in PRESET_SECTIONS):
            continue
        name = aug_name if section == "augmenter" else rec_name if section == "recommender" else section
        layer[name] = deep_merge(layer.get(name, {}), values)
    return layer


def resolve_run_config(raw: Mapping[str, Any], recommender_cls: type | None = None,
                       augmenter_cls: type | None = None) -> RunConfig:
    """Validate a merged raw mapping into a :class:`RunConfig`.

    ``recommender_cls`` / ``augmenter_cls`` supply the components' ``Config`` classes and
    the augmenter's ``presets``; the caller looks them up by name (see :mod:`kgrec.registry`).
    """
    rec_name = raw.get("recommender", "lightgcn")
    aug_name = raw.get("augmenter", "none")
    allowed = {"recommender", "augmenter", "dataset", "format", "preset", "train", "eval", "split",
               "data", rec_name, aug_name}
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"unknown config section {key!r}{hint} (component options go under "
                              f"the component's name: {rec_name}.*, {aug_name}.*)")
    for key in ("recommender", "augmenter", "dataset", "format", "preset"):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"{key} must be a string; got {raw[key]!r}")
    for key in ("train", "eval", "split", "data", rec_name, aug_name):
        if key in raw and not isinstance(raw[key], Mapping):
            raise ConfigError(f"{key} must be a section of key = value settings")
    preset = raw.get("preset", "")
    if preset:
        presets = getattr(augmenter_cls, "presets", {}) or {}
        if preset not in presets:
            known = ", ".join(sorted(presets)) or "none"
            raise ConfigError(f"augmenter {aug_name!r} has no preset {preset!r} (presets: {known})")
        raw = deep_merge(preset_layer(presets[preset], rec_name, aug_name), raw)
    return RunConfig(
        recommender=rec_name, augmenter=aug_name,
        dataset=str(raw.get("dataset", "synthetic")), format=str(raw.get("format", "auto")),
        preset=preset,
        train=build(TrainConfig, raw.get("train", {}), "train"),
        eval=build(EvalConfig, raw.get("eval", {}), "eval"),
        split=build(SplitConfig, raw.get("split", {}), "split"),
        data=build(DataConfig, raw.get("data", {}), "data"),
        recommender_config=build(recommender_cls.Config, raw.get(rec_name, {}), rec_name)
        if recommender_cls is not None else None,
        augmenter_config=build(augmenter_cls.Config, raw.get(aug_name, {}), aug_name)
        if augmenter_cls is not None and aug_name != rec_name else None,
    )


def _toml_value(value: Any, key: str) -> str:
    import json
    import math

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"{key}: {value} cannot be written to TOML")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v, key) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v, key)}" for k, v in value.items()) + " }"
    raise ConfigError(f"{key}: a {type(value).__name__} cannot be written to TOML")


def _toml_key(key: str) -> str:
    import re

    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key, key)


def dump_toml(mapping: Mapping[str, Any], header: str = "") -> str:
    """``mapping`` (a raw config: scalars, lists and nested tables) as TOML that
    :func:`load_toml` reads back to the same mapping; ``header`` lines become comments."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]

    def table(node: Mapping[str, Any], path: list[str]) -> None:
        scalars = [(k, v) for k, v in node.items() if not isinstance(v, Mapping)]
        tables = [(k, v) for k, v in node.items() if isinstance(v, Mapping)]
        if path and (scalars or not tables):
            lines.extend(["", "[" + ".".join(_toml_key(p) for p in path) + "]"])
        for k, v in scalars:
            lines.append(f"{_toml_key(k)} = {_toml_value(v, '.'.join(path + [k]))}")
        for k, v in tables:
            table(v, path + [k])

    table(mapping, [])
    return "\n".join(lines).lstrip("\n") + "\n"
