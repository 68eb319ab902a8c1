"""``run_experiment``: the whole of one run, used by ``kgrec run`` and by studies.

A run directory holds ``config.json`` (resolved config, seed, split, backend, versions),
``history.csv`` (one row per epoch), ``best.pt`` (the validation-selected checkpoint),
``split.npz`` (the exact split) and, last, ``metrics.json``. Every file is written
atomically, and ``metrics.json`` only once the run has finished, so a directory without it
is an unfinished run, never a half-written result.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kgrec import registry
from kgrec.config import RunConfig
from kgrec.data.recdata import RecData
from kgrec.errors import KgrecError, MissingDataError
from kgrec.experiment.manifest import split_fingerprint, versions
from kgrec.graph.ops import select_ops
from kgrec.interfaces import Setup
from kgrec.train.checkpoint import atomic_write_bytes, atomic_write_text
from kgrec.train.seeding import seed_everything
from kgrec.train.trainer import Trainer, TrainResult

SIDE_DATA_WORDS = {"kg": "a knowledge graph", "social": "a social graph",
                   "modalities": "item modality features"}


@dataclass
class RunResult:
    run_dir: Path
    config: RunConfig
    backend: str
    device: str
    result: TrainResult

    @property
    def test(self) -> dict[str, float]:
        return self.result.test


def check_requirements(kind: str, name: str, cls: type, data: RecData) -> None:
    """Refuse a dataset that lacks the side data a component declares in ``requires``."""
    for need in sorted(getattr(cls, "requires", frozenset())):
        if not data.has(need):
            raise MissingDataError(f"{kind} {name!r} needs {SIDE_DATA_WORDS.get(need, need)}; "
                                   f"dataset {data.name!r} has none")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise KgrecError("--device cuda was asked for but torch sees no CUDA device; use --device cpu")
    return device


def run_experiment(config: RunConfig, data: RecData, run_dir: Path, progress: bool = True,
                   log=print) -> RunResult:
    """Train and evaluate one configuration on ``data``, writing ``run_dir``."""
    rec_cls = registry.load("recommender", config.recommender)
    aug_cls = registry.load("augmenter", config.augmenter)
    check_requirements("recommender", config.recommender, rec_cls, data)
    check_requirements("augmenter", config.augmenter, aug_cls, data)
    if (run_dir / "metrics.json").exists():
        raise KgrecError(f"{run_dir} already holds a finished run; choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)

    device = resolve_device(config.train.device)
    backend = select_ops(config.train.backend, device)
    generator = seed_everything(config.train.seed)
    setup = Setup(data=data, ops=backend.ops, device=device, seed=config.train.seed,
                  train_users=torch.as_tensor(data.train.users, device=device),
                  train_items=torch.as_tensor(data.train.items, device=device),
                  embedding_dim=int(getattr(config.recommender_config, "dim", 64)))
    model = rec_cls(config.recommender_config, setup).to(device)
    augmenter = aug_cls(config.augmenter_config, setup).to(device)
    augmenter.bind(model)

    manifest: dict[str, Any] = {
        "config": config.to_dict(), "seed": config.train.seed, "dataset": data.name,
        "dataset_source": data.source, "split": {**dict(data.split), **split_fingerprint(data)},
        "backend": {"name": backend.name, "reason": backend.reason}, "device": str(device),
        "versions": versions(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write_text(run_dir / "config.json", json.dumps(manifest, indent=2, default=str))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{f"{name}_{col}": getattr(getattr(data, name), col)
                                   for name in ("train", "valid", "test") for col in ("users", "items")})
    atomic_write_bytes(run_dir / "split.npz", buffer.getvalue())

    history: list[dict[str, Any]] = []

    def write_history(row: dict[str, Any]) -> None:
        history.append(row)
        atomic_write_text(run_dir / "history.csv", _csv(history))

    log(f"run {run_dir}: {config.augmenter}+{config.recommender} on {data.name} "
        f"(backend {backend.name}, device {device}, seed {config.train.seed})")
    trainer = Trainer(model, augmenter, data, backend.ops, device, config.train, config.eval,
                      generator, run_dir / "best.pt", progress=progress, on_epoch=write_history)
    result = trainer.fit()
    metrics = {
        "best_epoch": result.best_epoch, "epochs_run": len(result.history),
        "stopped_early": result.stopped_early, "selected_by": f"valid {config.train.select_metric}",
        "valid": result.best_valid, "test": result.test,
        "mean_epoch_seconds": float(np.mean([r["train_seconds"] for r in result.history])),
        "backend": backend.name, "device": str(device), "seed": config.train.seed,
    }
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2))
    return RunResult(run_dir, config, backend.name, str(device), result)


def _csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
