"""The one training loop, for every pairing of augmenter and recommender.

Each epoch: ``augmenter.fit_epoch`` (its own generator), then BPR batches through
``transform -> encode -> refine`` with the backbone's and the augmenter's loss terms summed,
then validation every ``eval_every`` epochs. Every step gets a fresh
:class:`~kgrec.interfaces.Context`, the record through which one hook hands its results to
the next. The best validation epoch's state is kept as a
checkpoint and restored before the single test evaluation: the test split never selects.

Crash safety: with a ``run_dir``, every epoch ends with an atomic epoch checkpoint holding all
that the next epoch depends on (model, augmenter and its own optimisers, the trainer's
optimiser and scheduler, every RNG, the history and the early-stopping state), so
``fit(resume=...)`` continues exactly where an interrupted run left off. A non-finite loss
stops training before the optimiser steps, leaving every checkpoint at the last good epoch.

A closed-form recommender (``closed_form = True``: ``pop``, ``ease``) is fitted when it is
built; its run has one epoch without batches, whose validation selects it. Graph-health
numbers (``graph_*`` / ``health_*``, from ``fit_epoch`` or :meth:`Context.report`) are logged
under their own names and a near-empty produced graph is warned about once. Every run ends
with a convergence record (:mod:`kgrec.train.convergence`).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from kgrec.config import EvalConfig, TrainConfig
from kgrec.data.recdata import RecData
from kgrec.errors import KgrecError
from kgrec.eval.groups import item_popularity_groups
from kgrec.eval.ranking import Positives, UserMetrics, evaluate, evaluate_users
from kgrec.eval.sampled import sample_negatives
from kgrec.graph.ops import GraphOps
from kgrec.interfaces import (HEALTH_PREFIXES, NEAR_EMPTY, Batch, Context, Embeddings,
                              GraphAugmenter, Recommender, optimized_parameters)
from kgrec.train.checkpoint import (CHECKPOINT_DIR, load_checkpoint, rng_state,
                                    save_checkpoint, save_epoch_checkpoint, set_rng_state)
from kgrec.train.convergence import convergence
from kgrec.train.sampler import BPRSampler
from kgrec.train.tensorboard import TensorBoardLog, learning_rates


class GraphHealthWarning(UserWarning):
    """A graph an augmenter produced is near-empty (see :data:`kgrec.interfaces.NEAR_EMPTY`)."""


@dataclass
class TrainResult:
    best_epoch: int
    best_valid: dict[str, float]
    test: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False
    convergence: dict[str, Any] = field(default_factory=dict)
    """How training stopped (:func:`kgrec.train.convergence.convergence`)."""
    test_users: UserMetrics | None = None
    """Per-user test metrics at the selected epoch (None when the test was not evaluated)."""
    health_warnings: list[str] = field(default_factory=list)


RESUME_FORMAT = 2
"""Version of the epoch-checkpoint layout (see :meth:`Trainer.resume_state`). 2: augmenter
training state is keyed by :meth:`GraphAugmenter.optimizers` names."""
RESUME_KEYS = frozenset({"format", "epoch", "model", "augmenter", "augmenter_train", "optimizer",
                         "scheduler", "rng", "history", "best"})


@dataclass
class Progress:
    """Where training stands after ``epoch``: the early-stopping bookkeeping and history."""

    epoch: int = 0
    best_score: float = -math.inf
    best_epoch: int = 0
    best_valid: dict[str, float] = field(default_factory=dict)
    waited: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def forward(model: Recommender, augmenter: GraphAugmenter, ctx: Context) -> Embeddings:
    """One step's embeddings: ``transform -> encode -> refine``, leaving the transformed view
    in ``ctx.view`` for ``refine`` and the losses."""
    ctx.view = augmenter.transform(ctx.base, ctx)
    return augmenter.refine(model.encode(ctx.view), ctx)


class Trainer:
    """Trains ``model`` with ``augmenter`` on ``data``; see the module docstring."""

    def __init__(self, model: Recommender, augmenter: GraphAugmenter, data: RecData, ops: GraphOps,
                 device: torch.device, train: TrainConfig, evaluation: EvalConfig,
                 generator: torch.Generator, checkpoint_path: Path, progress: bool = True,
                 on_epoch: Callable[[dict[str, Any]], None] | None = None,
                 run_dir: Path | None = None, tensorboard: Path | None = None):
        """``checkpoint_path`` is ``best.pt``; with ``run_dir``, an epoch checkpoint is also
        written under ``run_dir/checkpoints`` after every epoch (see :meth:`resume_state`);
        with ``tensorboard``, every epoch's row also goes to TensorBoard event files there."""
        self.model, self.augmenter, self.data = model, augmenter, data
        self.ops, self.device, self.cfg, self.eval_cfg = ops, device, train, evaluation
        self.generator = generator
        self.checkpoint_path = checkpoint_path
        self.progress = progress
        self.on_epoch = on_epoch
        self.run_dir = Path(run_dir) if run_dir is not None else None
        users = torch.as_tensor(data.train.users, device=device)
        items = torch.as_tensor(data.train.items, device=device)
        self.sampler = BPRSampler(users, items, data.num_items)
        self.train_pos = Positives([data.train], data.num_users, device)
        self.valid_truth = Positives([data.valid], data.num_users, device)
        self.test_truth = Positives([data.test], data.num_users, device)
        self.test_exclude = Positives([data.train, data.valid], data.num_users, device)
        self.candidates = {"valid": None, "test": None}  # sampled protocol: negatives per split
        if evaluation.protocol == "sampled":
            for split in ("valid", "test"):
                negatives = sample_negatives(getattr(data, split), [data.train, data.valid, data.test],
                                             data.num_users, data.num_items, evaluation.negatives,
                                             evaluation.negatives_seed, split)
                self.candidates[split] = Positives([negatives], data.num_users, device)
        self.board = TensorBoardLog(tensorboard) if tensorboard is not None else None
        self.item_groups = (item_popularity_groups(data.train.items, data.num_items, evaluation.item_quantiles)
                            if evaluation.item_quantiles else None)
        self.closed_form = bool(getattr(model, "closed_form", False))
        self.health_warnings: list[str] = []
        self._warned: set[str] = set()
        # foreach: one fused update over all parameters (on CPU torch defaults to a loop over
        # them, 1.7x slower per step on LightGCN here); the same arithmetic
        self.optimizer = torch.optim.Adam(joint_param_groups(model, augmenter), lr=train.lr,
                                          foreach=True)
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, 1, gamma=train.lr_decay)

    def context(self, epoch: int, training: bool, batch: Batch | None = None) -> Context:
        """A fresh per-step record (see :class:`~kgrec.interfaces.Context`)."""
        return Context(epoch=epoch, training=training, device=self.device, ops=self.ops,
                       generator=self.generator, encode=self.model.encode, base=self.model.view(),
                       batch=batch)

    def embeddings(self, ctx: Context) -> Embeddings:
        return forward(self.model, self.augmenter, ctx)

    def step_terms(self, ctx: Context) -> dict[str, torch.Tensor]:
        """The named loss terms of one training step: the backbone's, then those the hooks
        added on the way (``ctx.losses``), then the augmenter's :meth:`loss`. An augmenter
        term named like a backbone term is logged as ``aug_<name>``."""
        emb = self.embeddings(ctx)
        terms = dict(self.model.loss(emb, ctx.batch, ctx.view))
        added = {**ctx.losses, **self.augmenter.loss(emb, ctx.batch, ctx)}
        for name, value in added.items():
            terms[name if name not in terms else f"aug_{name}"] = value
        return terms

    def train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        self.augmenter.train()
        if self.closed_form:
            return {}  # fitted when built: nothing to train
        fit = self.augmenter.fit_epoch(self.context(epoch, training=True))
        if not all(math.isfinite(float(v)) for v in fit.values()):
            raise self._not_finite(f"the augmenter's own training (fit_epoch) is not finite at "
                                   f"epoch {epoch}", fit, "lower the augmenter's learning rate")
        sums: dict[str, float] = {}
        reported: dict[str, list[float]] = {}
        steps = 0
        batches = self.sampler.epoch(self.cfg.batch_size, self.generator)
        for step, batch in enumerate(tqdm(batches, total=self.sampler.num_batches(self.cfg.batch_size),
                                          desc=f"epoch {epoch}", leave=False, disable=not self.progress)):
            ctx = self.context(epoch, training=True, batch=batch)
            terms = self.step_terms(ctx)
            for name, value in ctx.reports.items():
                reported.setdefault(name, []).append(value)
            loss = sum(terms.values())
            if not torch.isfinite(loss):
                raise self._not_finite(f"loss is not finite at epoch {epoch}, step {step}", terms,
                                       "lower train.lr")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach())
            sums["loss"] = sums.get("loss", 0.0) + float(loss.detach())
            steps += 1
        self.scheduler.step()
        self.augmenter.epoch_end(self.context(epoch, training=True))
        out = {name: total / max(steps, 1) for name, total in sums.items()}
        out.update({k if k.startswith(HEALTH_PREFIXES) else f"fit_{k}": float(v) for k, v in fit.items()})
        out.update({name: sum(values) / len(values) for name, values in reported.items()})
        self._check_health(epoch, out)
        return out

    def _check_health(self, epoch: int, row: dict[str, float]) -> None:
        """Warn once per graph when a produced graph is near-empty: ``graph_<g>_kept`` below
        :data:`~kgrec.interfaces.NEAR_EMPTY`, or ``graph_<g>_edges`` zero."""
        for key, value in row.items():
            if not key.startswith("graph_"):
                continue
            graph, near_empty = None, False
            if key.endswith("_kept"):
                graph, near_empty = key[len("graph_"):-len("_kept")], value < NEAR_EMPTY
            elif key.endswith("_edges"):
                graph, near_empty = key[len("graph_"):-len("_edges")], value <= 0
            if graph is None or not near_empty or graph in self._warned:
                continue
            self._warned.add(graph)
            what = (f"keeps {value:.2%} of the original graph's edges" if key.endswith("_kept")
                    else "has no edges")
            message = (f"the graph {graph!r} produced by the augmenter at epoch {epoch} {what} "
                       f"(near-empty: below {NEAR_EMPTY:.0%}); the backbone sees almost nothing of it")
            self.health_warnings.append(message)
            warnings.warn(message, GraphHealthWarning, stacklevel=2)

    def _not_finite(self, what: str, terms: dict[str, Any], advice: str) -> KgrecError:
        """One line: what blew up, each term's value, where the last good state is, what to do."""
        values = ", ".join(f"{k}={float(v):.4g}" for k, v in terms.items())
        kept = f" and {self.run_dir / CHECKPOINT_DIR}" if self.run_dir is not None else ""
        return KgrecError(f"{what} ({values}); training stopped, the last good state is kept in "
                          f"{self.checkpoint_path}{kept}; {advice} or check the data")

    @torch.no_grad()
    def evaluate(self, split: str, epoch: int) -> dict[str, float]:
        self.model.eval()
        self.augmenter.eval()
        emb = self.embeddings(self.context(epoch, training=False))
        truth, exclude = ((self.valid_truth, self.train_pos) if split == "valid"
                          else (self.test_truth, self.test_exclude))
        return evaluate(lambda users: self.model.score(emb, users), truth, exclude,
                        self.data.num_items, self.eval_cfg.topk, self.cfg.eval_batch_size,
                        candidates=self.candidates[split])

    @torch.no_grad()
    def evaluate_users(self, split: str, epoch: int) -> UserMetrics:
        """:meth:`evaluate` with every user's metrics and the item-popularity groups'."""
        self.model.eval()
        self.augmenter.eval()
        emb = self.embeddings(self.context(epoch, training=False))
        truth, exclude = ((self.valid_truth, self.train_pos) if split == "valid"
                          else (self.test_truth, self.test_exclude))
        groups = None if self.item_groups is None else torch.as_tensor(self.item_groups.index)
        return evaluate_users(lambda users: self.model.score(emb, users), truth, exclude,
                              self.data.num_items, self.eval_cfg.topk, self.cfg.eval_batch_size,
                              item_group=groups,
                              num_groups=None if self.item_groups is None else len(self.item_groups.labels),
                              candidates=self.candidates[split])

    def state(self, epoch: int, valid: dict[str, float]) -> dict[str, Any]:
        """What ``best.pt`` holds: the model and augmenter at the selected epoch."""
        return {"epoch": epoch, "valid": valid, "model": self.model.state_dict(),
                "augmenter": self.augmenter.state_dict()}

    def resume_state(self, progress: Progress) -> dict[str, Any]:
        """What an epoch checkpoint holds: everything needed to continue after ``progress.epoch``."""
        return {"format": RESUME_FORMAT, "epoch": progress.epoch,
                "model": self.model.state_dict(), "augmenter": self.augmenter.state_dict(),
                "augmenter_train": self.augmenter.train_state(),
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "rng": rng_state(self.generator), "history": list(progress.history),
                "best": {"score": progress.best_score, "epoch": progress.best_epoch,
                         "valid": dict(progress.best_valid), "waited": progress.waited}}

    def restore(self, state: dict[str, Any]) -> Progress:
        """Load an epoch checkpoint (see :meth:`resume_state`) into the model, augmenter,
        optimiser, scheduler and RNGs; returns where training stands."""
        if state.get("format") != RESUME_FORMAT:
            raise KgrecError(f"epoch checkpoint has format {state.get('format')!r}; this kgrec "
                             f"resumes format {RESUME_FORMAT}")
        try:
            self.model.load_state_dict(state["model"])
            self.augmenter.load_state_dict(state["augmenter"])
            self.augmenter.load_train_state(state["augmenter_train"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            set_rng_state(state["rng"], self.generator)
            best = state["best"]
            progress = Progress(epoch=int(state["epoch"]), best_score=float(best["score"]),
                                best_epoch=int(best["epoch"]), best_valid=dict(best["valid"]),
                                waited=int(best["waited"]), history=list(state["history"]))
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:  # damaged or foreign
            detail = " ".join(str(exc).split())[:300]
            where = self.run_dir / CHECKPOINT_DIR if self.run_dir is not None else "checkpoint"
            raise KgrecError(f"{where}: the epoch checkpoint does not fit this run "
                             f"({type(exc).__name__}: {detail}); cannot resume") from None
        self._check_best(progress)
        return progress

    def _check_best(self, progress: Progress) -> None:
        """Make ``best.pt`` agree with the checkpoint's bookkeeping after a crash.

        Per epoch the epoch checkpoint is written before ``best.pt``; a crash between the two
        leaves ``best.pt`` one selection behind, and then the checkpoint's own model state
        (taken right after that epoch's validation) is the best state.
        """
        if progress.best_epoch == 0:
            return
        if progress.best_epoch == progress.epoch:
            save_checkpoint(self.checkpoint_path, self.state(progress.epoch, progress.best_valid))
            return
        saved = load_checkpoint(self.checkpoint_path, self.device)
        if int(saved.get("epoch", -1)) != progress.best_epoch:
            raise KgrecError(f"{self.checkpoint_path} holds epoch {saved.get('epoch')}, but the "
                             f"epoch checkpoint selected epoch {progress.best_epoch}; cannot resume")

    def fit(self, resume: dict[str, Any] | None = None, test: bool = True) -> TrainResult:
        """Train (from scratch, or after the epoch checkpoint ``resume``), then test the best
        (unless ``test`` is False: tuning, which must never read the test split)."""
        metric = self.cfg.select_metric
        if int(metric.split("@")[1]) not in self.eval_cfg.topk:
            raise KgrecError(f"train.select_metric {metric} needs its K in eval.topk {self.eval_cfg.topk}")
        if not test and self.eval_cfg.track_test:
            raise KgrecError("this run may not read the test split (tuning); set eval.track_test = false")
        progress = self.restore(resume) if resume is not None else Progress()
        cap = 1 if self.closed_form else self.cfg.epochs
        stopped_early = progress.waited >= self.cfg.patience
        first = progress.epoch + 1 if not stopped_early else cap + 1
        bar = tqdm(range(first, cap + 1), desc="training", disable=not self.progress,
                   initial=progress.epoch, total=cap)
        for epoch in bar:
            start = time.perf_counter()
            row: dict[str, Any] = {"epoch": epoch, **self.train_epoch(epoch)}
            row["train_seconds"] = time.perf_counter() - start
            improved = False
            if epoch % self.cfg.eval_every == 0 or epoch == cap:
                start = time.perf_counter()
                valid = self.evaluate("valid", epoch)
                row["eval_seconds"] = time.perf_counter() - start
                row.update({f"valid_{k}": v for k, v in valid.items()})
                if self.eval_cfg.track_test:  # logged only; the epoch is selected on validation
                    start = time.perf_counter()
                    row.update({f"test_{k}": v for k, v in self.evaluate("test", epoch).items()})
                    row["test_eval_seconds"] = time.perf_counter() - start
                if valid[metric] > progress.best_score:
                    progress.best_score, progress.best_epoch, progress.best_valid = valid[metric], epoch, valid
                    progress.waited, improved = 0, True
                else:
                    progress.waited += 1
                bar.set_postfix(loss=f"{row.get('loss', math.nan):.4f}",
                                **{metric: f"{valid[metric]:.4f}"}, best=progress.best_epoch)
            progress.epoch = epoch
            progress.history.append(row)
            if self.run_dir is not None:  # before best.pt: see _check_best
                save_epoch_checkpoint(self.run_dir, epoch, self.resume_state(progress))
            if improved:
                save_checkpoint(self.checkpoint_path, self.state(epoch, progress.best_valid))
            if self.on_epoch is not None:
                self.on_epoch(row)
            if self.board is not None:
                self.board.epoch(row, learning_rates(self.optimizer, self.augmenter.optimizers()))
            if progress.waited >= self.cfg.patience:
                stopped_early = True
                break
        bar.close()
        if self.board is not None:
            self.board.close()
        best = load_checkpoint(self.checkpoint_path, self.device)
        self.model.load_state_dict(best["model"])
        self.augmenter.load_state_dict(best["augmenter"])
        scores = [(row["epoch"], row.get(f"valid_{metric}")) for row in progress.history]
        record = convergence(scores, self.cfg.patience, cap, stopped_early, self.closed_form)
        test_users = self.evaluate_users("test", progress.best_epoch) if test else None
        return TrainResult(progress.best_epoch, progress.best_valid,
                           test_users.means() if test_users is not None else {}, progress.history,
                           stopped_early, record, test_users, list(self.health_warnings))


def joint_param_groups(model: Recommender, augmenter: GraphAugmenter) -> list[dict[str, Any]]:
    """The trainer's Adam groups: the backbone's parameters, then ``augmenter.param_groups()``.

    Refuses a parameter that two optimisers would step (a group and one of the augmenter's
    :meth:`~GraphAugmenter.optimizers`, or two groups) and an augmenter parameter that
    requires a gradient but that no optimiser steps, naming it.
    """
    groups = [{"params": [p for p in model.parameters() if p.requires_grad]}]
    groups += augmenter.param_groups()
    owner = {id(p): "its optimizers()" for p in optimized_parameters(augmenter.optimizers())}
    name_of = {id(p): f"augmenter.{n}" for n, p in augmenter.named_parameters()}
    name_of.update({id(p): f"model.{n}" for n, p in model.named_parameters()})
    kind = type(augmenter).__name__
    for index, group in enumerate(groups):
        where = "the backbone's parameters" if index == 0 else f"param_groups()[{index - 1}]"
        for p in group["params"]:
            if id(p) in owner:
                raise KgrecError(f"{kind}: parameter {name_of.get(id(p), '?')} is in {where} and "
                                 f"in {owner[id(p)]}; each parameter needs exactly one optimiser")
            owner[id(p)] = where
    idle = [n for n, p in augmenter.named_parameters() if p.requires_grad and id(p) not in owner]
    if idle:
        raise KgrecError(f"{kind}: no optimiser steps parameters {', '.join(idle[:5])}"
                         f"{' ...' if len(idle) > 5 else ''}; return them from param_groups() or "
                         "optimizers(), or set requires_grad=False")
    return groups
