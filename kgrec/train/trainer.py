"""The one training loop, for every pairing of augmenter and recommender.

Each epoch: ``augmenter.fit_epoch`` (its own generator), then BPR batches through
``transform -> encode -> refine`` with the backbone's and the augmenter's loss terms summed,
then validation every ``eval_every`` epochs. The best validation epoch's state is kept as a
checkpoint and restored before the single test evaluation: the test split never selects.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from kgrec.config import EvalConfig, TrainConfig
from kgrec.data.recdata import RecData
from kgrec.errors import KgrecError
from kgrec.eval.ranking import Positives, evaluate
from kgrec.graph.ops import GraphOps
from kgrec.interfaces import Context, Embeddings, GraphAugmenter, Recommender
from kgrec.train.checkpoint import load_checkpoint, save_checkpoint
from kgrec.train.sampler import BPRSampler


@dataclass
class TrainResult:
    best_epoch: int
    best_valid: dict[str, float]
    test: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False


class Trainer:
    """Trains ``model`` with ``augmenter`` on ``data``; see the module docstring."""

    def __init__(self, model: Recommender, augmenter: GraphAugmenter, data: RecData, ops: GraphOps,
                 device: torch.device, train: TrainConfig, evaluation: EvalConfig,
                 generator: torch.Generator, checkpoint_path: Path, progress: bool = True,
                 on_epoch: Callable[[dict[str, Any]], None] | None = None):
        self.model, self.augmenter, self.data = model, augmenter, data
        self.ops, self.device, self.cfg, self.eval_cfg = ops, device, train, evaluation
        self.generator = generator
        self.checkpoint_path = checkpoint_path
        self.progress = progress
        self.on_epoch = on_epoch
        users = torch.as_tensor(data.train.users, device=device)
        items = torch.as_tensor(data.train.items, device=device)
        self.sampler = BPRSampler(users, items, data.num_items)
        self.train_pos = Positives([data.train], data.num_users, device)
        self.valid_truth = Positives([data.valid], data.num_users, device)
        self.test_truth = Positives([data.test], data.num_users, device)
        self.test_exclude = Positives([data.train, data.valid], data.num_users, device)
        groups = [{"params": [p for p in model.parameters() if p.requires_grad]}]
        groups += augmenter.param_groups()
        self.optimizer = torch.optim.Adam(groups, lr=train.lr)
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, 1, gamma=train.lr_decay)

    def context(self, epoch: int, training: bool) -> Context:
        return Context(epoch=epoch, device=self.device, ops=self.ops, generator=self.generator,
                       training=training, encode=self.model.encode, base_view=self.model.view)

    def embeddings(self, ctx: Context) -> tuple[Embeddings, Any]:
        view = self.augmenter.transform(self.model.view(), ctx)
        return self.augmenter.refine(self.model.encode(view), ctx), view

    def train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        self.augmenter.train()
        ctx = self.context(epoch, training=True)
        fit = self.augmenter.fit_epoch(ctx)
        sums: dict[str, float] = {}
        steps = 0
        batches = self.sampler.epoch(self.cfg.batch_size, self.generator)
        for step, batch in enumerate(tqdm(batches, total=self.sampler.num_batches(self.cfg.batch_size),
                                          desc=f"epoch {epoch}", leave=False, disable=not self.progress)):
            emb, view = self.embeddings(ctx)
            terms = dict(self.model.loss(emb, batch, view))
            for name, value in self.augmenter.loss(emb, batch, ctx).items():
                terms[name if name not in terms else f"aug_{name}"] = value
            loss = sum(terms.values())
            if not torch.isfinite(loss):
                bad = ", ".join(f"{k}={float(v):.4g}" for k, v in terms.items())
                raise KgrecError(f"loss is not finite at epoch {epoch}, step {step} ({bad}); "
                                 f"the last good checkpoint is kept at {self.checkpoint_path}")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach())
            sums["loss"] = sums.get("loss", 0.0) + float(loss.detach())
            steps += 1
        self.scheduler.step()
        self.augmenter.epoch_end(ctx)
        out = {name: total / max(steps, 1) for name, total in sums.items()}
        out.update({f"fit_{k}": float(v) for k, v in fit.items()})
        return out

    @torch.no_grad()
    def evaluate(self, split: str, epoch: int) -> dict[str, float]:
        self.model.eval()
        self.augmenter.eval()
        emb, _ = self.embeddings(self.context(epoch, training=False))
        truth, exclude = ((self.valid_truth, self.train_pos) if split == "valid"
                          else (self.test_truth, self.test_exclude))
        return evaluate(lambda users: self.model.score(emb, users), truth, exclude,
                        self.data.num_items, self.eval_cfg.topk, self.cfg.eval_batch_size)

    def state(self, epoch: int, valid: dict[str, float]) -> dict[str, Any]:
        return {"epoch": epoch, "valid": valid, "model": self.model.state_dict(),
                "augmenter": self.augmenter.state_dict()}

    def fit(self) -> TrainResult:
        metric = self.cfg.select_metric
        if int(metric.split("@")[1]) not in self.eval_cfg.topk:
            raise KgrecError(f"train.select_metric {metric} needs its K in eval.topk {self.eval_cfg.topk}")
        best_score, best_epoch, best_valid = -math.inf, 0, {}
        history: list[dict[str, Any]] = []
        waited = 0
        stopped_early = False
        bar = tqdm(range(1, self.cfg.epochs + 1), desc="training", disable=not self.progress)
        for epoch in bar:
            start = time.perf_counter()
            row: dict[str, Any] = {"epoch": epoch, **self.train_epoch(epoch)}
            row["train_seconds"] = time.perf_counter() - start
            if epoch % self.cfg.eval_every == 0 or epoch == self.cfg.epochs:
                start = time.perf_counter()
                valid = self.evaluate("valid", epoch)
                row["eval_seconds"] = time.perf_counter() - start
                row.update({f"valid_{k}": v for k, v in valid.items()})
                if valid[metric] > best_score:
                    best_score, best_epoch, best_valid, waited = valid[metric], epoch, valid, 0
                    save_checkpoint(self.checkpoint_path, self.state(epoch, valid))
                else:
                    waited += 1
                bar.set_postfix(loss=f"{row['loss']:.4f}", **{metric: f"{valid[metric]:.4f}"},
                                best=best_epoch)
            history.append(row)
            if self.on_epoch is not None:
                self.on_epoch(row)
            if waited >= self.cfg.patience:
                stopped_early = True
                break
        bar.close()
        best = load_checkpoint(self.checkpoint_path, self.device)
        self.model.load_state_dict(best["model"])
        self.augmenter.load_state_dict(best["augmenter"])
        test = self.evaluate("test", best_epoch)
        return TrainResult(best_epoch, best_valid, test, history, stopped_early)
