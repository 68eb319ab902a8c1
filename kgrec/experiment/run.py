"""``kgrec.run`` and ``kgrec.resume``: the whole of one run, the only way any run happens.

The CLI's ``kgrec run``, every cell of ``kgrec study``, the plugin check, the test helpers
and the ``bench/`` scripts all call these. A run directory holds ``config.json`` (resolved
config, seed, split, backend, versions, plugin distributions), ``history.csv`` (one row per
epoch), ``best.pt`` (the validation-selected checkpoint), ``split.npz`` (the exact split),
``ids.npz`` (raw user / item ids by internal index, see :mod:`kgrec.experiment.ids`),
``checkpoints/epoch-NNNN.pt`` (the newest epoch's full training state, for :func:`resume`;
kept when the run finishes, so that ``resume(run_dir, epochs=N)`` can continue it),
``per_user.npz`` (every user's test metrics, see :mod:`kgrec.experiment.per_user`) and,
last, ``metrics.json`` (selected epoch,
validation and test metrics, how training stopped and whether it converged, metrics by
user and item group, graph health). Every file is
written atomically, and ``metrics.json`` only once the run has finished, so a directory
without it is an unfinished run, never a half-written result.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from kgrec import registry
from kgrec.config import RunConfig
from kgrec.data.load import load_dataset
from kgrec.data.recdata import RecData
from kgrec.errors import ConfigError, KgrecError, MissingDataError
from kgrec.data.recdata import SIDE_DATA
from kgrec.experiment.ids import save_ids
from kgrec.experiment.manifest import plugin_distributions, split_fingerprint, versions
from kgrec.experiment.per_user import health_summary, save_per_user
from kgrec.experiment.resolve import ConfigLike, resolve_config
from kgrec.graph.ops import BackendChoice, select_ops
from kgrec.interfaces import GraphAugmenter, Recommender, Setup
from kgrec.lock import DirectoryLock
from kgrec.train.checkpoint import (atomic_write_bytes, atomic_write_text,
                                    latest_epoch_checkpoint, load_checkpoint)
from kgrec.train.seeding import seed_everything
from kgrec.train.convergence import describe as describe_convergence
from kgrec.train.trainer import RESUME_FORMAT, RESUME_KEYS, Trainer

SIDE_DATA_WORDS = {"kg": "a knowledge graph", "social": "a social graph",
                   "modalities": "item modality features"}

RUN_FORMAT = 2
"""Version of the run-directory layout, recorded as ``config.json`` "run_format". 1 (no such
key): before ``ids.npz`` and the kept last epoch checkpoint; 2: with both. A directory of a
newer format is refused by this kgrec with one line."""

Log = Callable[[str], None]
OnEpoch = Callable[[dict[str, Any]], None]


@dataclass
class RunResult:
    """A finished run: what it was, where it is, and what it measured (also on disk)."""

    run_dir: Path
    config: RunConfig
    backend: str
    device: str
    best_epoch: int
    """The epoch selected by ``config.train.select_metric`` on validation data."""
    valid: dict[str, float]
    """Validation metrics at ``best_epoch``."""
    test: dict[str, float]
    """Test metrics at ``best_epoch``: the figures to report."""
    history: list[dict[str, Any]]
    """One row per epoch: loss terms, validation metrics, timings (``history.csv``)."""
    stopped_early: bool
    metrics: dict[str, Any] | None = None
    """Everything ``metrics.json`` holds: convergence, groups, health, per-user file."""

    @property
    def convergence(self) -> dict[str, Any]:
        """How training stopped and whether it converged (``metrics.json`` "convergence")."""
        return dict((self.metrics or {}).get("convergence", {}))


@dataclass
class Components:
    """A run's model and augmenter, built and bound, with what they were built on."""

    model: Recommender
    augmenter: GraphAugmenter
    backend: BackendChoice
    device: torch.device
    generator: torch.Generator


def run(config: ConfigLike, *, data: RecData | None = None, out: str | Path | None = None,
        progress: bool = True, log: Log | None = print, on_epoch: OnEpoch | None = None,
        test: bool = True) -> RunResult:
    """Train and evaluate one configuration, writing the run directory ``out``.

    ``config`` is a :class:`~kgrec.RunConfig`, a raw mapping as in a TOML file, or a TOML
    path (see :func:`kgrec.resolve_config`). ``data`` replaces loading ``config.dataset``
    (for data derived in memory, e.g. with noise injected). ``out`` defaults to
    ``runs/<time>-<dataset>-<augmenter>-<recommender>-s<seed>``. After every epoch a
    checkpoint lands in ``out/checkpoints``; a run killed at any point continues with
    :func:`resume`.

    ``on_epoch(row)`` is called after every epoch with its history row, once the epoch is
    checkpointed (``kgrec tune`` reports validation curves to its pruner through it; an
    exception it raises stops the run, which stays resumable). ``test=False`` evaluates no
    test split at all (tuning): ``metrics.json`` then has an empty "test" and no per-user file.
    """
    config = config if isinstance(config, RunConfig) else resolve_config(config)
    if data is None:
        data = load_dataset(config.dataset, config.format, config.split, config.data)
    run_dir = Path(out) if out is not None else default_run_dir(config)
    test = test and config.eval.on == "test"  # eval.on = valid: select and report on validation
    return _execute(config, data, run_dir, progress, log or _silent, None, on_epoch, test)


def resume(run_dir: str | Path, *, epochs: int | None = None, data: RecData | None = None,
           progress: bool = True, log: Log | None = print) -> RunResult:
    """Continue the run in ``run_dir`` after its last complete epoch.

    An unfinished run (killed, or stopped by a failure) continues with its recorded config
    and ends exactly as an uninterrupted run would. ``epochs=N`` sets its epoch cap to ``N``
    (the one setting that may change); that is also how a *finished* run goes on: it keeps its
    last epoch checkpoint, so ``resume(run_dir, epochs=N)`` trains epochs ``E+1..N`` and ends
    with exactly the history, selected epoch and metrics of a run started with ``N`` epochs
    (same seed, CPU). Refused, with one line: a finished run without ``epochs`` or with ``N``
    not above the epochs it ran, a run that stopped early (a longer run stops at the same
    epoch: ``train.patience`` validations without improvement; nothing changes), a closed-form
    recommender, and a run finished by a kgrec that did not keep the checkpoint.

    The dataset is reloaded (or taken from ``data``) and refused if its split differs from the
    recorded one. A run killed before its first epoch finished starts again from scratch in
    the same directory.
    """
    log = log or _silent
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    check_run_format(manifest, run_dir)
    config = recorded_config(manifest, run_dir / "config.json")
    finished = (run_dir / "metrics.json").exists()
    if finished and epochs is None:
        raise KgrecError(f"{run_dir} holds a finished run (metrics.json); nothing to resume "
                         "(continue it to more epochs with --epochs N)")
    found = latest_epoch_checkpoint(run_dir)
    continued = None
    if epochs is not None:
        continued = _continuation(run_dir, config, epochs, found, finished)
        config = resolve_config(config, {"train": {"epochs": epochs}})
    data = recorded_data(run_dir, manifest, config, data)
    state = None
    if found is not None:
        state = load_checkpoint(found[1], resolve_device(config.train.device))
        missing = sorted(RESUME_KEYS - set(state)) if isinstance(state, dict) else ["everything"]
        if missing or state.get("format") != RESUME_FORMAT:
            raise KgrecError(f"{found[1]}: not a kgrec epoch checkpoint of format {RESUME_FORMAT} "
                             f"(missing: {', '.join(missing) or 'none'}); cannot resume")
        if continued is not None:
            if finished:
                _check_not_stopped(run_dir, config, state)
            continued["after_epoch"] = int(state["epoch"])
    if state is None:
        log(f"{run_dir}: no complete epoch was checkpointed; starting the run again")
        for stale in ("best.pt", "history.csv"):
            (run_dir / stale).unlink(missing_ok=True)
    if continued is not None and continued.get("warning"):
        log(f"warning: {continued['warning']}")
    return _execute(config, data, run_dir, progress, log, state, test=config.eval.on == "test",
                    expect=(found, finished), continued=continued)


def _continuation(run_dir: Path, config: RunConfig, epochs: int,
                  found: tuple[int, Path] | None, finished: bool) -> dict[str, Any]:
    """Check that the run in ``run_dir`` can go on to ``epochs`` epochs; what to record."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise KgrecError(f"epochs must be a positive integer; got {epochs!r}")
    rec_cls = registry.load("recommender", config.recommender)
    if getattr(rec_cls, "closed_form", False):
        raise KgrecError(f"{run_dir}: recommender {config.recommender!r} is fitted in closed form; "
                         "there are no epochs to continue")
    done = found[0] if found is not None else 0
    if finished and found is None:
        raise KgrecError(f"{run_dir} finished without keeping its last epoch checkpoint (written by "
                         "a kgrec before continuing was possible, or it was deleted); it cannot be "
                         "continued exactly: start a new run with --epochs N")
    if epochs <= done if finished else epochs < done:
        raise KgrecError(f"{run_dir} has already trained {done} epochs; --epochs must be more "
                         f"than that (got {epochs})")
    old = config.train.epochs
    record: dict[str, Any] = {"from_epochs": old, "to_epochs": epochs,
                              "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    every = config.train.eval_every
    if finished and epochs > old and old % every:
        record["warning"] = (f"epoch {old} was validated because it was the epoch cap, which "
                             f"train.eval_every={every} alone would not have done; the history "
                             f"and the selected epoch may differ from a run started with "
                             f"{epochs} epochs at that epoch")
    return record


def _check_not_stopped(run_dir: Path, config: RunConfig, state: dict[str, Any]) -> None:
    """Refuse to continue a run that early stopping ended: a longer run ends there too."""
    best = state.get("best", {})
    waited, patience = int(best.get("waited", 0)), config.train.patience
    if waited >= patience:
        raise KgrecError(f"{run_dir} stopped early at epoch {int(state['epoch'])}: {waited} "
                         f"validations without improvement reached train.patience={patience}; "
                         "a run with more epochs stops there too, so there is nothing to continue")


def build_components(config: RunConfig, data: RecData,
                     device: torch.device | None = None) -> Components:
    """Seed, then build the model and the augmenter on ``data`` and bind them, as a run does."""
    rec_cls = registry.load("recommender", config.recommender)
    aug_cls = registry.load("augmenter", config.augmenter)
    check_requirements("recommender", config.recommender, rec_cls, data)
    check_requirements("augmenter", config.augmenter, aug_cls, data)
    device = device if device is not None else resolve_device(config.train.device)
    backend = select_ops(config.train.backend, device)
    generator = seed_everything(config.train.seed)
    setup = Setup(data=data, ops=backend.ops, device=device, seed=config.train.seed,
                  train_users=torch.as_tensor(data.train.users, device=device),
                  train_items=torch.as_tensor(data.train.items, device=device),
                  embedding_dim=int(getattr(config.recommender_config, "dim", 64)))
    model = rec_cls(config.recommender_config, setup).to(device)
    augmenter = aug_cls(config.augmenter_config, setup).to(device)
    augmenter.bind(model)
    return Components(model, augmenter, backend, device, generator)


def _execute(config: RunConfig, data: RecData, run_dir: Path, progress: bool, log: Log,
             resume_state: dict[str, Any] | None, on_epoch: OnEpoch | None = None,
             test: bool = True, expect: tuple[Any, bool] | None = None,
             continued: dict[str, Any] | None = None) -> RunResult:
    """Claim ``run_dir`` and train. ``expect`` (for a resume): the epoch checkpoint and the
    finished state the caller read before the lock, refused if another writer changed them
    since; ``continued``: a finished run goes on to more epochs (its metrics.json is removed
    first, so a crash leaves an unfinished run that ``resume`` continues)."""
    for kind, name in (("recommender", config.recommender), ("augmenter", config.augmenter)):
        check_requirements(kind, name, registry.load(kind, name), data)  # type: ignore[arg-type]
    check_splits(data, test)
    created = not run_dir.exists()
    try:
        with DirectoryLock(run_dir, "kgrec run"):  # one writer, claimed before anything is written
            finished = (run_dir / "metrics.json").exists()
            if expect is not None and (latest_epoch_checkpoint(run_dir), finished) != expect:
                raise KgrecError(f"{run_dir} changed while it was being read (another kgrec wrote "
                                 "to it); run the command again")
            if finished and continued is None:
                raise KgrecError(f"{run_dir} already holds a finished run; choose another --out")
            if resume_state is None and latest_epoch_checkpoint(run_dir) is not None:
                raise KgrecError(f"{run_dir} holds an unfinished run; continue it with "
                                 f"`kgrec run --resume {run_dir}` or choose another --out")
            if finished:
                (run_dir / "metrics.json").unlink()  # unfinished again until the continuation ends
            return _train(config, data, run_dir, progress, log, resume_state, on_epoch, test,
                          continued)
    except KgrecError:
        if created and run_dir.is_dir() and latest_epoch_checkpoint(run_dir) is None:
            # refused before its first epoch was kept: leave nothing half-written behind
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _train(config: RunConfig, data: RecData, run_dir: Path, progress: bool, log: Log,
           resume_state: dict[str, Any] | None, on_epoch: OnEpoch | None,
           test: bool, continued: dict[str, Any] | None = None) -> RunResult:
    """The run itself, in a directory this process holds."""
    parts = build_components(config, data)
    backend, device = parts.backend, parts.device
    manifest: dict[str, Any] = {
        "run_format": RUN_FORMAT,
        "config": config.to_dict(), "seed": config.train.seed, "dataset": data.name,
        "dataset_source": data.source, "dataset_path": _dataset_path(config.dataset),
        "split": {**dict(data.split), **split_fingerprint(data)},
        "num_users": data.num_users, "num_items": data.num_items,
        "side_data": [name for name in SIDE_DATA if data.has(name)],
        "backend": {"name": backend.name, "reason": backend.reason}, "device": str(device),
        "versions": versions(), "plugins": plugin_distributions(config),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if resume_state is not None:
        previous = read_manifest(run_dir)
        manifest["started"] = previous.get("started", manifest["started"])
        manifest["resumed"] = previous.get("resumed", []) + [
            {"after_epoch": int(resume_state["epoch"]), "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
             "backend": backend.name, "device": str(device)}]
        if previous.get("continued"):
            manifest["continued"] = previous["continued"]
    if continued is not None:
        entry = {k: v for k, v in continued.items() if k != "warning"}
        manifest["continued"] = manifest.get("continued", []) + [entry]
    atomic_write_text(run_dir / "config.json", json.dumps(manifest, indent=2, default=str))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{f"{name}_{col}": getattr(getattr(data, name), col)
                                   for name in ("train", "valid", "test") for col in ("users", "items")})
    atomic_write_bytes(run_dir / "split.npz", buffer.getvalue())
    save_ids(run_dir, data)

    history: list[dict[str, Any]] = list(resume_state["history"]) if resume_state is not None else []

    def write_history(row: dict[str, Any]) -> None:
        history.append(row)
        atomic_write_text(run_dir / "history.csv", _csv(history))
        if on_epoch is not None:
            on_epoch(row)

    where = f"resumed after epoch {int(resume_state['epoch'])}" if resume_state is not None else "run"
    log(f"{where} {run_dir}: {config.augmenter}+{config.recommender} on {data.name} "
        f"(backend {backend.name}, device {device}, seed {config.train.seed})")
    trainer = Trainer(parts.model, parts.augmenter, data, backend.ops, device, config.train,
                      config.eval, parts.generator, run_dir / "best.pt", progress=progress,
                      on_epoch=write_history, run_dir=run_dir,
                      tensorboard=tensorboard_dir(config, run_dir))
    result = trainer.fit(resume=resume_state, test=test)
    for warning in result.health_warnings:
        log(f"warning: {warning}")
    record = result.convergence
    metrics: dict[str, Any] = {
        "best_epoch": result.best_epoch, "epochs_run": len(result.history),
        "stopped_early": result.stopped_early, "stopped_by": record["stopped_by"],
        "converged": record["converged"], "convergence": record,
        "selected_by": f"valid {config.train.select_metric}",
        "valid": result.best_valid, "test": result.test,
        "mean_epoch_seconds": float(np.mean([r["train_seconds"] for r in result.history])),
        "backend": backend.name, "device": str(device), "seed": config.train.seed,
    }
    if result.test_users is not None:
        metrics["per_user"], metrics["groups"] = save_per_user(run_dir, data, result.test_users, config.eval)
    health = health_summary(result.history, result.best_epoch)
    if health or result.health_warnings:
        metrics["health"] = {"columns": health, "warnings": result.health_warnings}
    if not record["converged"]:
        log(f"warning: {describe_convergence(record)}")
    atomic_write_text(run_dir / "history.csv", _csv(result.history))
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2))
    # the last epoch checkpoint stays: resume(run_dir, epochs=N) continues from it exactly
    return RunResult(run_dir, config, backend.name, str(device), result.best_epoch,
                     result.best_valid, result.test, result.history, result.stopped_early, metrics)


def check_requirements(kind: str, name: str, cls: type, data: RecData) -> None:
    """Refuse a dataset that lacks the side data a component declares in ``requires``."""
    for need in sorted(getattr(cls, "requires", frozenset())):
        if not data.has(need):
            raise MissingDataError(f"{kind} {name!r} needs {SIDE_DATA_WORDS.get(need, need)}; "
                                   f"dataset {data.name!r} has none")


def check_splits(data: RecData, test: bool = True) -> None:
    """Refuse a run that could select no epoch (empty validation) or report nothing (empty
    test; not checked for a run that evaluates no test)."""
    where = f"dataset {data.name!r} ({data.source or 'generated'})"
    if len(data.valid) == 0:
        raise KgrecError(f"{where} has an empty validation split, so no epoch can be selected; raise "
                         "split.valid_ratio (or split.valid_n), or give a validation file (users need "
                         "2 interactions for a validation pair)")
    if test and len(data.test) == 0:
        method = str(data.split.get("method", ""))
        cause = ("split.test_ratio = 0 holds out no test pairs" if data.split.get("test_ratio") == 0
                 else f"the {method or 'given'} split has no test pairs")
        raise KgrecError(f"{where} has an empty test split ({cause}); a run reports test metrics at "
                         "its validation-selected epoch: set split.test_ratio > 0 (or split.test_n, or "
                         "give a test file), or --eval-on valid (eval.on = \"valid\") to select and "
                         "report on validation without a test split")


def tensorboard_dir(config: RunConfig, run_dir: Path) -> Path | None:
    """Where a run's TensorBoard events go: ``train.tensorboard/<run directory name>``."""
    if not config.train.tensorboard:
        return None
    return Path(config.train.tensorboard).expanduser() / run_dir.resolve().name


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise KgrecError("--device cuda was asked for but torch sees no CUDA device; use --device cpu")
    return device


def default_run_dir(config: RunConfig) -> Path:
    """``runs/<time>-<dataset>-<augmenter>-<recommender>-s<seed>`` under the working directory."""
    stem = Path(config.dataset).name or config.dataset
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:40]
    return Path("runs") / (f"{time.strftime('%Y%m%d-%H%M%S')}-{safe}-{config.augmenter}-"
                           f"{config.recommender}-s{config.train.seed}")


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """A run directory's ``config.json``, or a one-line error saying what is wrong with it."""
    path = run_dir / "config.json"
    if not path.is_file():
        raise KgrecError(f"{run_dir} is not a kgrec run directory (no config.json)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise KgrecError(f"{path}: unreadable run record ({exc})") from None
    if not isinstance(manifest, dict):
        raise KgrecError(f"{path}: not a kgrec run record")
    return manifest


def check_run_format(manifest: dict[str, Any], run_dir: Path) -> int:
    """The run directory's layout version; a newer one than this kgrec's is refused."""
    found = manifest.get("run_format", 1)
    if isinstance(found, bool) or not isinstance(found, int) or found < 1:
        raise KgrecError(f"{run_dir / 'config.json'}: run_format must be a positive integer; got {found!r}")
    if found > RUN_FORMAT:
        written = manifest.get("versions", {}).get("kgrec", "a newer kgrec")
        raise KgrecError(f"{run_dir} was written by kgrec {written} (run format {found}); this kgrec "
                         f"reads formats up to {RUN_FORMAT}: upgrade kgrec")
    return found


def recorded_config(manifest: dict[str, Any], path: Path) -> RunConfig:
    """The :class:`RunConfig` a run recorded in its ``config.json``, validated again."""
    raw = manifest.get("config")
    if not isinstance(raw, dict):
        raise KgrecError(f"{path}: no recorded config")
    try:
        return resolve_config(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: the recorded config is no longer valid ({exc})") from None


def recorded_data(run_dir: Path, manifest: dict[str, Any], config: RunConfig,
                  data: RecData | None) -> RecData:
    """The dataset a run was trained on (reloaded unless given), refused if its split
    differs from the one the run recorded."""
    spec = manifest.get("dataset_path") or config.dataset
    if data is None:
        data = load_dataset(spec, config.format, config.split, config.data)
    recorded = manifest.get("split", {})
    for part, info in split_fingerprint(data).items():
        if recorded.get(part, {}).get("sha256") != info["sha256"]:
            raise KgrecError(f"{run_dir}: the {part} split of {spec} differs from the one this run "
                             "was trained on (the dataset changed)")
    return data


def _dataset_path(spec: str) -> str | None:
    """The dataset's absolute path (None for the generator), so a resume works from any cwd."""
    if spec == "synthetic" or spec.startswith("synthetic?"):
        return None
    return str(Path(spec).expanduser().resolve())


def _silent(_: str) -> None:
    pass


def _csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
