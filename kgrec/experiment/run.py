"""``run_experiment``: the whole of one run, used by ``kgrec run`` and by studies.

A run directory holds ``config.json`` (resolved config, seed, split, backend, versions),
``history.csv`` (one row per epoch), ``best.pt`` (the validation-selected checkpoint),
``split.npz`` (the exact split), ``checkpoints/epoch-NNNN.pt`` (the newest epoch's full
training state, for ``kgrec run --resume``; removed once the run finishes) and, last,
``metrics.json``. Every file is written atomically, and ``metrics.json`` only once the run
has finished, so a directory without it is an unfinished run, never a half-written result.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kgrec import registry
from kgrec.config import RunConfig, resolve_run_config
from kgrec.data.recdata import RecData
from kgrec.errors import ConfigError, KgrecError, MissingDataError
from kgrec.experiment.manifest import split_fingerprint, versions
from kgrec.graph.ops import select_ops
from kgrec.interfaces import Setup
from kgrec.train.checkpoint import (CHECKPOINT_DIR, atomic_write_bytes, atomic_write_text,
                                    latest_epoch_checkpoint, load_checkpoint)
from kgrec.train.seeding import seed_everything
from kgrec.train.trainer import RESUME_FORMAT, RESUME_KEYS, Trainer, TrainResult

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


def check_splits(data: RecData) -> None:
    """Refuse a run that could select no epoch (empty validation) or report nothing (empty test)."""
    for part, advice in (("valid", "raise split.valid_ratio or give a validation file"),
                         ("test", "raise split.test_ratio or give a test file")):
        if len(getattr(data, part)) == 0:
            raise KgrecError(f"dataset {data.name!r} ({data.source or 'generated'}) has an empty "
                             f"{'validation' if part == 'valid' else 'test'} split; {advice} "
                             "(users need 3 interactions for a pair in each split)")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise KgrecError("--device cuda was asked for but torch sees no CUDA device; use --device cpu")
    return device


def run_experiment(config: RunConfig, data: RecData, run_dir: Path, progress: bool = True,
                   log=print, _resume: dict[str, Any] | None = None) -> RunResult:
    """Train and evaluate one configuration on ``data``, writing ``run_dir``.

    After every epoch a checkpoint lands in ``run_dir/checkpoints``; a run killed at any
    point continues with :func:`resume_experiment` (``kgrec run --resume``).
    """
    rec_cls = registry.load("recommender", config.recommender)
    aug_cls = registry.load("augmenter", config.augmenter)
    check_requirements("recommender", config.recommender, rec_cls, data)
    check_requirements("augmenter", config.augmenter, aug_cls, data)
    check_splits(data)
    if (run_dir / "metrics.json").exists():
        raise KgrecError(f"{run_dir} already holds a finished run; choose another --out")
    if _resume is None and latest_epoch_checkpoint(run_dir) is not None:
        raise KgrecError(f"{run_dir} holds an unfinished run; continue it with "
                         f"`kgrec run --resume {run_dir}` or choose another --out")
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
        "dataset_source": data.source, "dataset_path": _dataset_path(config.dataset),
        "split": {**dict(data.split), **split_fingerprint(data)},
        "backend": {"name": backend.name, "reason": backend.reason}, "device": str(device),
        "versions": versions(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if _resume is not None:
        previous = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        manifest["started"] = previous.get("started", manifest["started"])
        manifest["resumed"] = previous.get("resumed", []) + [
            {"after_epoch": int(_resume["epoch"]), "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
             "backend": backend.name, "device": str(device)}]
    atomic_write_text(run_dir / "config.json", json.dumps(manifest, indent=2, default=str))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{f"{name}_{col}": getattr(getattr(data, name), col)
                                   for name in ("train", "valid", "test") for col in ("users", "items")})
    atomic_write_bytes(run_dir / "split.npz", buffer.getvalue())

    history: list[dict[str, Any]] = list(_resume["history"]) if _resume is not None else []

    def write_history(row: dict[str, Any]) -> None:
        history.append(row)
        atomic_write_text(run_dir / "history.csv", _csv(history))

    where = f"resumed after epoch {int(_resume['epoch'])}" if _resume is not None else "run"
    log(f"{where} {run_dir}: {config.augmenter}+{config.recommender} on {data.name} "
        f"(backend {backend.name}, device {device}, seed {config.train.seed})")
    trainer = Trainer(model, augmenter, data, backend.ops, device, config.train, config.eval,
                      generator, run_dir / "best.pt", progress=progress, on_epoch=write_history,
                      run_dir=run_dir)
    result = trainer.fit(resume=_resume)
    metrics = {
        "best_epoch": result.best_epoch, "epochs_run": len(result.history),
        "stopped_early": result.stopped_early, "selected_by": f"valid {config.train.select_metric}",
        "valid": result.best_valid, "test": result.test,
        "mean_epoch_seconds": float(np.mean([r["train_seconds"] for r in result.history])),
        "backend": backend.name, "device": str(device), "seed": config.train.seed,
    }
    atomic_write_text(run_dir / "history.csv", _csv(result.history))
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2))
    shutil.rmtree(run_dir / CHECKPOINT_DIR, ignore_errors=True)  # finished: best.pt is what counts
    return RunResult(run_dir, config, backend.name, str(device), result)


def _dataset_path(spec: str) -> str | None:
    """The dataset's absolute path (None for the generator), so a resume works from any cwd."""
    if spec == "synthetic" or spec.startswith("synthetic?"):
        return None
    return str(Path(spec).expanduser().resolve())


def recorded_config(manifest: dict[str, Any], path: Path) -> RunConfig:
    """The :class:`RunConfig` a run recorded in its ``config.json``, validated again."""
    raw = manifest.get("config")
    if not isinstance(raw, dict):
        raise KgrecError(f"{path}: no recorded config; cannot resume")
    rec_cls = registry.load("recommender", raw.get("recommender", "lightgcn"))
    aug_cls = registry.load("augmenter", raw.get("augmenter", "none"))
    try:
        return resolve_run_config(raw, rec_cls, aug_cls)
    except ConfigError as exc:
        raise ConfigError(f"{path}: the recorded config is no longer valid ({exc})") from None


def resume_experiment(run_dir: Path, progress: bool = True, log=print,
                      data: RecData | None = None) -> RunResult:
    """Continue the unfinished run in ``run_dir`` after its last complete epoch.

    Uses the run's recorded ``config.json`` (nothing can be changed on resume), reloads the
    dataset (or takes ``data``, for callers that derive it in memory, e.g. with noise
    injected) and refuses if its split differs from the recorded one. A run killed before its
    first epoch finished starts again from scratch in the same directory.
    """
    from kgrec.data.load import load_dataset

    run_dir = Path(run_dir)
    manifest_path = run_dir / "config.json"
    if (run_dir / "metrics.json").exists():
        raise KgrecError(f"{run_dir} holds a finished run (metrics.json); nothing to resume")
    if not manifest_path.is_file():
        raise KgrecError(f"{run_dir} is not a kgrec run directory (no config.json)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise KgrecError(f"{manifest_path}: unreadable run record ({exc})") from None
    config = recorded_config(manifest, manifest_path)
    spec = manifest.get("dataset_path") or config.dataset
    if data is None:
        data = load_dataset(spec, config.format, config.split)
    recorded, now = manifest.get("split", {}), split_fingerprint(data)
    for part, info in now.items():
        if recorded.get(part, {}).get("sha256") != info["sha256"]:
            raise KgrecError(f"{run_dir}: the {part} split of {spec} differs from the one this run "
                             "was trained on (the dataset changed); cannot resume")
    found = latest_epoch_checkpoint(run_dir)
    state = None
    if found is not None:
        state = load_checkpoint(found[1], resolve_device(config.train.device))
        missing = sorted(RESUME_KEYS - set(state)) if isinstance(state, dict) else ["everything"]
        if missing or state.get("format") != RESUME_FORMAT:
            raise KgrecError(f"{found[1]}: not a kgrec epoch checkpoint of format {RESUME_FORMAT} "
                             f"(missing: {', '.join(missing) or 'none'}); cannot resume")
    if state is None:
        log(f"{run_dir}: no complete epoch was checkpointed; starting the run again")
        for stale in ("best.pt", "history.csv"):
            (run_dir / stale).unlink(missing_ok=True)
    return run_experiment(config, data, run_dir, progress=progress, log=log, _resume=state)


def _csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
