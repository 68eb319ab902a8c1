"""``kgrec.load``: a finished run back in memory, at its validation-selected epoch.

The model and augmenter are rebuilt exactly as the run built them (same config, seed and
data), then ``best.pt`` is loaded into both, so embeddings, scores and metrics are those of
the epoch the run reported. Everything lands on ``device`` (CPU by default), wherever the
run trained (checkpoints are read with ``map_location``).

What building needs: the backbone needs the training graph (``split.npz`` holds it, with the
validation and test pairs), and a component that reads side data (a knowledge graph, a social
graph, modality features) declares it in ``requires``. So ``load`` takes the recorded dataset
when it can be loaded, and otherwise, for components that require no side data, the run
directory alone (``split.npz``, ``ids.npz``, ``config.json``, ``best.pt``); a run whose
components need side data it cannot find is a one-line error saying which.

The answers speak the dataset's own ids (``ids.npz``, :mod:`kgrec.experiment.ids`):
:meth:`TrainedRun.recommend`, :meth:`~TrainedRun.score`, :meth:`~TrainedRun.user_embeddings`
and :meth:`~TrainedRun.item_embeddings` take and return raw ids.
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import Tensor

from kgrec import registry
from kgrec.config import RunConfig
from kgrec.data.recdata import Interactions, RecData
from kgrec.errors import KgrecError
from kgrec.eval.ranking import Positives
from kgrec.experiment.ids import IdMap, RunIds, load_ids
from kgrec.experiment.run import (SIDE_DATA_WORDS, build_components, check_run_format,
                                  read_manifest, recorded_config, recorded_data)
from kgrec.interfaces import Embeddings, GraphAugmenter, Recommender
from kgrec.memory import fit_batch_size
from kgrec.train.checkpoint import load_checkpoint
from kgrec.train.trainer import Trainer

SOURCES = ("auto", "dataset", "run")
EXCLUDE = {True: ("train", "valid", "test"), "all": ("train", "valid", "test"),
           "train": ("train",), False: (), None: ()}
UNKNOWN = ("error", "popular")
SMALL_BLOCK = 64 * 2**20


@dataclass(frozen=True)
class UserRecommendations:
    """One user's top items, best first (raw ids)."""

    user: Any
    items: list[Any]
    scores: list[float]
    fallback: bool
    """True: the user is unknown to the run and got the training-popularity ranking
    (``unknown="popular"``); the scores are then training interaction counts."""

    def to_dict(self) -> dict[str, Any]:
        return {"user": self.user, "fallback": self.fallback,
                "items": [{"item": i, "score": s} for i, s in zip(self.items, self.scores)]}


@dataclass
class Recommendations:
    """Top-``k`` items for a batch of users, in the order asked, as arrays (raw ids).

    ``items[b, j]`` is user ``users[b]``'s ``j``-th item and ``scores[b, j]`` its score. A
    slot with no item (fewer than ``k`` items left once seen items were excluded) holds
    ``-1`` (integer ids) or ``""`` (string ids) with score NaN; iterating skips such slots.
    """

    users: np.ndarray
    items: np.ndarray
    scores: np.ndarray
    fallback: np.ndarray
    """``(B,)`` bool: the user was unknown and got the popularity fallback."""
    k: int

    def __len__(self) -> int:
        return int(self.users.shape[0])

    def __iter__(self) -> Iterator[UserRecommendations]:
        for b in range(len(self)):
            yield self[b]

    def __getitem__(self, b: int) -> UserRecommendations:
        """User ``b``'s recommendations, empty slots dropped."""
        keep = ~np.isnan(self.scores[b])
        # scores as the shortest decimals that read back as the same float32
        scores = [float(text) for text in self.scores[b][keep].astype(np.float32).astype(str)]
        return UserRecommendations(self.users[b].item(), self.items[b][keep].tolist(), scores,
                                   bool(self.fallback[b]))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready ``{"k": k, "users": [{"user", "fallback", "items": [{"item", "score"}]}]}``."""
        return {"k": self.k, "users": [row.to_dict() for row in self]}


@dataclass
class EmbeddingTable:
    """Embedding vectors with the raw ids of their rows."""

    ids: np.ndarray
    vectors: np.ndarray
    """``(N, d)`` float32; ``d`` is 0 for a model without embeddings (EASE)."""

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass
class TrainedRun:
    """A finished run, loaded: its config, metrics and history, and the trained components."""

    run_dir: Path
    config: RunConfig
    metrics: dict[str, Any]
    """``metrics.json``: ``best_epoch``, ``valid``, ``test``, convergence, groups, timings."""
    data: RecData
    model: Recommender
    augmenter: GraphAugmenter
    device: torch.device
    _trainer: Trainer
    ids: RunIds = None  # type: ignore[assignment]
    """Raw user and item ids by internal index (``ids.users.ids``, ``ids.items.ids``)."""
    source: str = "dataset"
    """Where the data came from: ``dataset`` (reloaded from the recorded dataset) or ``run``
    (the run directory alone)."""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.ids is None:
            self.ids = RunIds.of(self.data)

    @property
    def best_epoch(self) -> int:
        return int(self.metrics["best_epoch"])

    @property
    def user_ids(self) -> np.ndarray:
        """Raw user ids, ``user_ids[u]`` for internal user ``u``."""
        return self.ids.users.ids

    @property
    def item_ids(self) -> np.ndarray:
        """Raw item ids, ``item_ids[i]`` for internal item ``i`` (the column order of
        :meth:`score` without ``items``)."""
        return self.ids.items.ids

    @property
    def history(self) -> list[dict[str, Any]]:
        """``history.csv``: one row per epoch (numbers as floats, ``epoch`` as int)."""
        path = self.run_dir / "history.csv"
        if not path.is_file():
            return []
        return [{k: _number(k, v) for k, v in row.items()} for row in csv.DictReader(path.open())]

    @torch.no_grad()
    def embeddings(self) -> Embeddings:
        """User and item embeddings as evaluation sees them (augmenter hooks applied)."""
        self.model.eval()
        self.augmenter.eval()
        return self._trainer.embeddings(self._trainer.context(self.best_epoch, training=False))

    def _embeddings(self) -> Embeddings:
        """:meth:`embeddings`, computed once for the answers below (the model is frozen)."""
        if "emb" not in self._cache:
            self._cache["emb"] = self.embeddings()
        return self._cache["emb"]

    def user_embeddings(self, users: Any = None) -> EmbeddingTable:
        """Every user's embedding (or those of raw ids ``users``), with raw ids."""
        return self._table(self.ids.users, users, self._embeddings().users)

    def item_embeddings(self, items: Any = None) -> EmbeddingTable:
        """Every item's embedding (or those of raw ids ``items``), with raw ids."""
        return self._table(self.ids.items, items, self._embeddings().items)

    def _table(self, ids: IdMap, which: Any, vectors: Tensor) -> EmbeddingTable:
        index = np.arange(len(ids)) if which is None else ids.indices(which)
        rows = vectors[torch.as_tensor(index, device=vectors.device)] if vectors.dim() == 2 else vectors
        return EmbeddingTable(ids.raw_of(index), rows.detach().float().cpu().numpy().reshape(len(index), -1))

    def batch_size(self, requested: int | None = None, rows: int | None = None) -> int:
        """Users scored at once: ``requested`` (default ``train.eval_batch_size``), shrunk if
        one ``(users, items)`` block would not fit in memory. ``rows``: how many users are to
        be scored (a block under 64 MiB is not checked: a served request of a few users does
        not read the free memory each time)."""
        requested = requested or self.config.train.eval_batch_size
        rows = self.data.num_users if rows is None else rows
        row_bytes = 13 * self.data.num_items
        if min(rows, requested) * row_bytes <= SMALL_BLOCK:
            return max(min(rows, requested), 1)
        return fit_batch_size(rows, row_bytes, requested, device=self.device,
                              setting="the batch size")

    @torch.no_grad()
    def score(self, users: Any, items: Any = None) -> np.ndarray:
        """Scores of raw user ids ``users`` against raw item ids ``items``: ``(len(users),
        len(items))`` float32; without ``items``, against every item, in :attr:`item_ids`
        order. Unknown ids and ids of the wrong type are one-line errors."""
        user_index = self.ids.users.indices(users)
        item_index = None if items is None else self.ids.items.indices(items)
        width = self.data.num_items if item_index is None else len(item_index)
        out = np.empty((len(user_index), width), np.float32)
        emb = self._embeddings()
        cols = None if item_index is None else torch.as_tensor(item_index, device=self.device)
        step = self.batch_size(rows=len(user_index))
        for start in range(0, len(user_index), step):
            batch = torch.as_tensor(user_index[start:start + step], device=self.device)
            block = self.model.score(emb, batch)
            out[start:start + step] = (block if cols is None else block[:, cols]).float().cpu().numpy()
        return out

    def recommend(self, users: Any, k: int = 10, exclude_seen: bool | str = True,
                  candidates: Any = None, unknown: str = "error") -> Recommendations:
        """Top-``k`` items for raw user ids ``users`` (one id or a sequence), best first.

        ``exclude_seen``: ``True`` (or ``"all"``) leaves out every item the run's data pairs
        with the user (train, validation and test), ``"train"`` only the training items (as
        validation ranks), ``False`` nothing. ``candidates``: raw item ids to choose from
        (default: every item). ``unknown``: ``"error"`` (default) refuses an unknown user in
        one line; ``"popular"`` gives unknown users the items most often in the training data,
        flagged in :attr:`Recommendations.fallback`.
        """
        k = _positive_k(k)
        if exclude_seen not in EXCLUDE:
            raise KgrecError(f"exclude_seen must be True, False, 'all' or 'train'; got {exclude_seen!r}")
        if unknown not in UNKNOWN:
            raise KgrecError(f"unknown must be 'error' or 'popular'; got {unknown!r}")
        raw = self.ids.users.coerce(users)
        index, found = self.ids.users.lookup(raw)
        if unknown == "error" and not found.all():
            self.ids.users.indices(raw)  # raises the one-line error naming them
        cand = None if candidates is None else np.unique(self.ids.items.indices(candidates, "candidate item id"))
        k = min(k, self.data.num_items if cand is None else len(cand))
        top = np.full((len(raw), k), -1, np.int64)
        scores = np.full((len(raw), k), np.nan, np.float32)
        known = np.flatnonzero(found)
        step = self.batch_size(rows=len(known))
        for start in range(0, len(known), step):  # batches of users, not single users
            rows = known[start:start + step]
            top[rows], scores[rows] = self.rank(index[rows], k, exclude_seen, cand)
        if not found.all():
            pop_items, pop_scores = self.popular(k, cand)
            top[~found], scores[~found] = pop_items, pop_scores
        items = self.ids.items.raw_of(np.maximum(top, 0))
        items[top < 0] = -1 if self.ids.items.integer else ""
        return Recommendations(raw, items, scores, ~found, k)

    @torch.no_grad()
    def rank(self, user_index: np.ndarray, k: int, exclude_seen: bool | str = True,
             candidates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` internal item indices and scores for internal user indices (one block):
        ``(B, k)`` int64 (``-1`` where no item is left) and float32 (NaN there)."""
        emb = self._embeddings()
        users = torch.as_tensor(np.asarray(user_index, dtype=np.int64), device=self.device)
        block = self.model.score(emb, users).float()
        parts = EXCLUDE[exclude_seen]
        if parts and len(users):
            rows, cols = self._seen(parts).gather(users)
            block[rows, cols] = -math.inf
        if candidates is not None:
            cand = torch.as_tensor(candidates, device=self.device)
            block = block[:, cand]
        values, pos = torch.topk(block, min(k, block.shape[1]), dim=1)
        if candidates is not None:
            pos = cand[pos]
        empty = torch.isneginf(values)
        pos = pos.masked_fill(empty, -1)
        values = values.masked_fill(empty, math.nan)
        return pos.cpu().numpy(), values.cpu().numpy()

    def popular(self, k: int, candidates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items (internal indices) most often in the training data, with their
        counts as scores: the fallback for unknown users."""
        if "popularity" not in self._cache:
            self._cache["popularity"] = np.bincount(self.data.train.items, minlength=self.data.num_items)
        counts = self._cache["popularity"]
        pool = np.arange(self.data.num_items) if candidates is None else np.asarray(candidates)
        order = pool[np.argsort(-counts[pool], kind="stable")[:k]]
        return order, counts[order].astype(np.float32)

    def _seen(self, parts: tuple[str, ...]) -> Positives:
        key = "seen:" + "+".join(parts)
        if key not in self._cache:
            self._cache[key] = Positives([getattr(self.data, p) for p in parts], self.data.num_users,
                                     self.device)
        return self._cache[key]

    def evaluate(self, split: str = "test") -> dict[str, float]:
        """Full-ranking metrics on ``valid`` or ``test``, with the run's protocol; for
        ``test`` they equal the run's reported ``metrics["test"]``."""
        if split not in ("valid", "test"):
            raise KgrecError(f"split must be 'valid' or 'test'; got {split!r}")
        return self._trainer.evaluate(split, self.best_epoch)


def _positive_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise KgrecError(f"k must be a positive integer; got {k!r}")
    return int(k)


def _number(key: str, value: str) -> Any:
    if value in ("", None):
        return None
    try:
        return int(value) if key == "epoch" else float(value)
    except ValueError:
        return value


def load(run_dir: str | Path, *, data: RecData | None = None,
         device: str | torch.device = "cpu", source: str = "auto") -> TrainedRun:
    """Load the finished run in ``run_dir`` onto ``device``.

    ``source``: ``auto`` (default) reloads the recorded dataset when it can, else builds
    from the run directory alone when no component requires side data; ``dataset`` insists
    on the dataset (refused if its split differs from the run's); ``run`` uses the run
    directory alone. ``data`` is taken as the dataset (checked the same way).
    """
    if source not in SOURCES:
        raise KgrecError(f"source must be one of {', '.join(SOURCES)}; got {source!r}")
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    check_run_format(manifest, run_dir)
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file() or not (run_dir / "best.pt").is_file():
        raise KgrecError(f"{run_dir} holds no finished run (metrics.json and best.pt are written "
                         "when a run finishes; continue it with `kgrec run --resume`)")
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise KgrecError(f"{metrics_path}: unreadable ({exc})") from None
    if not isinstance(metrics, dict) or "best_epoch" not in metrics:
        raise KgrecError(f"{metrics_path}: not a kgrec metrics record (no best_epoch)")
    config = recorded_config(manifest, run_dir / "config.json")
    ids = load_ids(run_dir)
    data, used = _data(run_dir, manifest, config, data, source, ids)
    if ids is None:  # a run from before ids.npz: the dataset's ids (or its indices)
        ids = RunIds.of(data)
    device = torch.device(device)
    parts = build_components(config, data, device)
    best = load_checkpoint(run_dir / "best.pt", device)
    try:
        parts.model.load_state_dict(best["model"])
        parts.augmenter.load_state_dict(best["augmenter"])
    except (KeyError, RuntimeError, TypeError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise KgrecError(f"{run_dir / 'best.pt'} does not fit this kgrec's {config.augmenter}+"
                         f"{config.recommender} ({type(exc).__name__}: {detail})") from None
    trainer = Trainer(parts.model, parts.augmenter, data, parts.backend.ops, device, config.train,
                      config.eval, parts.generator, run_dir / "best.pt", progress=False)
    return TrainedRun(run_dir, config, metrics, data, parts.model, parts.augmenter, device, trainer,
                      ids=ids, source=used)


def _data(run_dir: Path, manifest: dict[str, Any], config: RunConfig, data: RecData | None,
          source: str, ids: RunIds | None) -> tuple[RecData, str]:
    """The run's data and where it came from (see :func:`load`)."""
    if source == "run" and data is None:
        _refuse_side_data(run_dir, config, None)
        return data_from_run_dir(run_dir, manifest, ids), "run"
    try:
        return recorded_data(run_dir, manifest, config, data), "dataset"
    except KgrecError as exc:
        if source == "dataset" or data is not None:
            raise
        _refuse_side_data(run_dir, config, exc)
        spec = manifest.get("dataset_path") or config.dataset
        if spec and Path(spec).exists():  # there but unusable (changed, damaged): say so
            warnings.warn(f"{run_dir}: its dataset could not be used ({exc}); loaded from the run "
                          "directory alone", stacklevel=3)
        return data_from_run_dir(run_dir, manifest, ids), "run"


def _refuse_side_data(run_dir: Path, config: RunConfig, why: KgrecError | None) -> None:
    """A one-line error when a component needs side data that only the dataset holds."""
    for kind, name in (("recommender", config.recommender), ("augmenter", config.augmenter)):
        needs = sorted(getattr(registry.load(kind, name), "requires", frozenset()))  # type: ignore[arg-type]
        if needs:
            words = " and ".join(SIDE_DATA_WORDS.get(n, n) for n in needs)
            if why is None:
                raise KgrecError(f"{run_dir}: {kind} {name!r} needs {words}, which a run directory "
                                 "does not keep; load it with its dataset")
            raise KgrecError(f"{run_dir}: {kind} {name!r} needs {words}, which a run directory does "
                             f"not keep, and its dataset cannot be loaded ({why}); restore the "
                             "dataset or pass data=")


def data_from_run_dir(run_dir: Path, manifest: dict[str, Any], ids: RunIds | None) -> RecData:
    """The run's interactions, split as it trained, from ``split.npz`` (no side data)."""
    path = run_dir / "split.npz"
    if not path.is_file():
        raise KgrecError(f"{run_dir} is incomplete: no split.npz (the run's split); it cannot be "
                         "loaded without its dataset")
    try:
        with np.load(path, allow_pickle=False) as found:
            parts = {name: Interactions(found[f"{name}_users"].astype(np.int64),
                                        found[f"{name}_items"].astype(np.int64))
                     for name in ("train", "valid", "test")}
    except Exception as exc:  # a damaged or foreign file
        raise KgrecError(f"{path}: not a readable kgrec split ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})") from None
    if ids is not None:
        num_users, num_items = len(ids.users), len(ids.items)
    elif isinstance(manifest.get("num_users"), int) and isinstance(manifest.get("num_items"), int):
        num_users, num_items = manifest["num_users"], manifest["num_items"]
    else:
        raise KgrecError(f"{run_dir} predates ids.npz (kgrec run format 1) and its dataset cannot be "
                         "loaded; restore the dataset to load it")
    for name, part in parts.items():
        if len(part) and (part.users.max() >= num_users or part.items.max() >= num_items):
            raise KgrecError(f"{path}: {name} ids exceed the run's {num_users} users / {num_items} items")
    return RecData(name=str(manifest.get("dataset", run_dir.name)), num_users=num_users,
                   num_items=num_items, train=parts["train"], valid=parts["valid"],
                   test=parts["test"], split={k: v for k, v in manifest.get("split", {}).items()
                                              if k in ("method", "seed")},
                   source=str(manifest.get("dataset_source", "")),
                   user_ids=ids.users.ids if ids is not None and ids.users.raw else None,
                   item_ids=ids.items.ids if ids is not None and ids.items.raw else None)
