"""``kgrec.load``: a finished run back in memory, at its validation-selected epoch.

The model and augmenter are rebuilt exactly as the run built them (same config, seed and
data), then ``best.pt`` is loaded into both, so embeddings, scores and metrics are those of
the epoch the run reported. Everything lands on ``device`` (CPU by default), wherever the
run trained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from kgrec.config import RunConfig
from kgrec.data.recdata import RecData
from kgrec.errors import KgrecError
from kgrec.experiment.run import (build_components, read_manifest, recorded_config,
                                  recorded_data)
from kgrec.interfaces import Embeddings, GraphAugmenter, Recommender
from kgrec.train.checkpoint import load_checkpoint
from kgrec.train.trainer import Trainer


@dataclass
class TrainedRun:
    """A finished run, loaded: its config, metrics and history, and the trained components."""

    run_dir: Path
    config: RunConfig
    metrics: dict[str, Any]
    """``metrics.json``: ``best_epoch``, ``valid``, ``test``, timings."""
    data: RecData
    model: Recommender
    augmenter: GraphAugmenter
    device: torch.device
    _trainer: Trainer

    @property
    def best_epoch(self) -> int:
        return int(self.metrics["best_epoch"])

    @torch.no_grad()
    def embeddings(self) -> Embeddings:
        """User and item embeddings as evaluation sees them (augmenter hooks applied)."""
        self.model.eval()
        self.augmenter.eval()
        return self._trainer.embeddings(self._trainer.context(self.best_epoch, training=False))

    @torch.no_grad()
    def score(self, users: Tensor) -> Tensor:
        """Scores of internal user indices ``users`` against every item, ``(B, I)``."""
        emb = self.embeddings()
        return self.model.score(emb, torch.as_tensor(users, device=self.device))

    def evaluate(self, split: str = "test") -> dict[str, float]:
        """Full-ranking metrics on ``valid`` or ``test``, with the run's protocol; for
        ``test`` they equal the run's reported ``metrics["test"]``."""
        if split not in ("valid", "test"):
            raise KgrecError(f"split must be 'valid' or 'test'; got {split!r}")
        return self._trainer.evaluate(split, self.best_epoch)


def load(run_dir: str | Path, *, data: RecData | None = None,
         device: str | torch.device = "cpu") -> TrainedRun:
    """Load the finished run in ``run_dir`` onto ``device``.

    The dataset is reloaded from the path the run recorded (or taken from ``data``) and
    refused if its split differs from the run's.
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file() or not (run_dir / "best.pt").is_file():
        raise KgrecError(f"{run_dir} holds no finished run (metrics.json and best.pt are written "
                         "when a run finishes; continue it with `kgrec run --resume`)")
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise KgrecError(f"{metrics_path}: unreadable ({exc})") from None
    config = recorded_config(manifest, run_dir / "config.json")
    data = recorded_data(run_dir, manifest, config, data)
    device = torch.device(device)
    parts = build_components(config, data, device)
    best = load_checkpoint(run_dir / "best.pt", device)
    try:
        parts.model.load_state_dict(best["model"])
        parts.augmenter.load_state_dict(best["augmenter"])
    except (KeyError, RuntimeError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise KgrecError(f"{run_dir / 'best.pt'} does not fit this kgrec's {config.augmenter}+"
                         f"{config.recommender} ({type(exc).__name__}: {detail})") from None
    trainer = Trainer(parts.model, parts.augmenter, data, parts.backend.ops, device, config.train,
                      config.eval, parts.generator, run_dir / "best.pt", progress=False)
    return TrainedRun(run_dir, config, metrics, data, parts.model, parts.augmenter, device, trainer)
