"""Run a study's cells one after another, resumably.

A study directory holds::

    study.json              the parsed study, for the record
    study.log               one line per cell started, finished or failed
    events.jsonl            the same as JSON lines (start / finish / fail, cell id, time)
    cells/<id>/cell.json    the cell's labels and resolved settings, written when it starts
    cells/<id>/cell.log     the run's own log lines, and a traceback if it failed
    cells/<id>/run/         the cell's run directory (kgrec.run)
    cells/<id>/result.json  written atomically, last: a cell is done iff this file exists

Run again after an interruption, a study skips done cells and continues an unfinished cell's
run after its last complete epoch (``kgrec.resume``, which gives the metrics of an
uninterrupted run); a run that cannot be resumed (killed before its run record was written, or
its checkpoint unreadable) is discarded and trained from scratch. A run whose ``metrics.json``
made it to disk is only recorded, not retrained. Training goes through ``kgrec.run`` only.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from kgrec import registry
from kgrec.config import RunConfig, as_dict
from kgrec.data.noise import inject_noise
from kgrec.data.recdata import RecData
from kgrec.errors import KgrecError, MissingDataError
from kgrec.lock import DirectoryLock
from kgrec.experiment import check_requirements, resume, run
from kgrec.study.grid import Cell, Study
from kgrec.train.checkpoint import atomic_write_text


@dataclass
class StudyOutcome:
    total: int
    skipped: int
    ran: list[str] = field(default_factory=list)
    failed: list[tuple[Cell, str]] = field(default_factory=list)


def cell_dir(out: Path, cell: Cell) -> Path:
    return out / "cells" / cell.id


def load_results(out: Path, cells: list[Cell]) -> dict[str, dict[str, Any]]:
    """id -> stored result of every finished cell of ``cells``."""
    results = {}
    for cell in cells:
        path = cell_dir(out, cell) / "result.json"
        if cell.id not in results and path.exists():
            results[cell.id] = json.loads(path.read_text(encoding="utf-8"))
    return results


def unique(cells: list[Cell]) -> list[Cell]:
    """One cell per id (arms that resolve to identical settings share one run)."""
    seen: dict[str, Cell] = {}
    for cell in cells:
        seen.setdefault(cell.id, cell)
    return list(seen.values())


class _Data:
    """The most recently loaded dataset (cells are ordered dataset first, so one suffices)."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.data: RecData | None = None

    def get(self, cell: Cell) -> RecData:
        from kgrec.data import load_dataset

        cfg = cell.config
        key = json.dumps([cfg.dataset, cfg.format, as_dict(cfg.split), as_dict(cfg.data)],
                         sort_keys=True, default=str)
        if key != self.key:
            self.data, self.key = None, None  # free the previous one first
            self.data, self.key = load_dataset(cfg.dataset, cfg.format, cfg.split, cfg.data), key
        assert self.data is not None
        return self.data


def dataset_loader() -> Callable[[RunConfig], RecData]:
    """A loader of the clean dataset a config names (the last one is cached), for tuning."""
    from kgrec.data import load_dataset

    cache: dict[str, RecData] = {}

    def load(config: RunConfig) -> RecData:
        key = json.dumps([config.dataset, config.format, as_dict(config.split), as_dict(config.data)],
                         sort_keys=True, default=str)
        if key not in cache:
            cache.clear()
            cache[key] = load_dataset(config.dataset, config.format, config.split, config.data)
        return cache[key]

    return load


def precheck(cells: list[Cell], data: _Data) -> None:
    """Before any training: every dataset loads and has the side data its cells need."""
    for cell in cells:
        loaded = data.get(cell)
        check_requirements("recommender", cell.recommender, registry.load("recommender", cell.config.recommender), loaded)
        check_requirements("augmenter", cell.augmenter, registry.load("augmenter", cell.augmenter), loaded)
        for target, _ in cell.noise:
            if target != "interactions" and not loaded.has(target):
                raise MissingDataError(f"{cell.noise_label} noise: dataset {cell.dataset!r} has no {target} graph")


class _Journal:
    def __init__(self, out: Path):
        self.out = out

    def __call__(self, event: str, cell: Cell, message: str = "") -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        with open(self.out / "events.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"event": event, "cell": cell.id, "time": stamp}) + "\n")
        with open(self.out / "study.log", "a", encoding="utf-8") as handle:
            handle.write(f"{stamp} {event:<6} {cell.id} {describe(cell)}{' ' + message if message else ''}\n")


def describe(cell: Cell) -> str:
    return f"{cell.arm} + {cell.recommender} on {cell.dataset} ({cell.noise_label}), seed {cell.seed}"


def run_cell(cell: Cell, out: Path, data: RecData) -> dict[str, Any]:
    """Train one cell (or record its finished run) and write its ``result.json``."""
    where = cell_dir(out, cell)
    where.mkdir(parents=True, exist_ok=True)
    atomic_write_text(where / "cell.json", json.dumps(cell.describe(), indent=2, default=str))
    run_dir = where / "run"
    started = time.time()
    with open(where / "cell.log", "a", encoding="utf-8") as handle:
        def log(message: str) -> None:
            handle.write(f"{time.strftime('%H:%M:%S')} {message}\n")
            handle.flush()

        try:
            if not (run_dir / "metrics.json").exists():
                if cell.noise:
                    data = inject_noise(data, dict(cell.noise), int(cell.noise_seed or 0))
                    log(f"noise: {cell.noise_label}, seed {cell.noise_seed}")
                if not _resumed(run_dir, data, log):
                    run(cell.config, data=data, out=run_dir, progress=False, log=log)
            metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        except Exception:
            log(traceback.format_exc())
            raise
        log(f"test {json.dumps(metrics['test'])}")
    result = {**cell.describe(), "run_dir": "run", "metrics": metrics,
              "wall_seconds": round(time.time() - started, 3)}
    atomic_write_text(where / "result.json", json.dumps(result, indent=2, default=str))
    return result


def _resumed(run_dir: Path, data: RecData, log: Callable[[str], None]) -> bool:
    """Finish an interrupted run in ``run_dir`` if it can be resumed; True when it was.

    Anything that cannot be resumed is discarded, so the caller trains the cell from scratch.
    """
    if not run_dir.exists():
        return False
    if (run_dir / "config.json").is_file():
        log(f"resuming the unfinished run in {run_dir}")
        try:
            resume(run_dir, data=data, progress=False, log=log)
            return True
        except KgrecError as exc:
            log(f"cannot resume ({exc})")
    log(f"discarding the unfinished run in {run_dir}")
    shutil.rmtree(run_dir)
    return False


def run_study(study: Study, cells: list[Cell], out: Path, progress: bool = True, fail_fast: bool = False,
              echo: Callable[[str], None] = print) -> StudyOutcome:
    """Run every unfinished cell in order; a failed cell is logged and the study goes on
    (``fail_fast`` stops it instead). Returns what ran and what failed."""
    from tqdm.auto import tqdm

    out.mkdir(parents=True, exist_ok=True)
    todo = unique(cells)
    with DirectoryLock(out, "kgrec study"):
        atomic_write_text(out / "study.json", json.dumps(study.raw, indent=2, default=str))
        done = load_results(out, todo)
        pending = [c for c in todo if c.id not in done]
        outcome = StudyOutcome(total=len(todo), skipped=len(done))
        if done:
            echo(f"resuming {study.name}: {len(done)} of {len(todo)} cells already finished")
        data = _Data()
        precheck(pending, data)
        journal = _Journal(out)
        bar = tqdm(total=len(todo), initial=len(done), desc=study.name, unit="cell",
                   disable=not progress, dynamic_ncols=True)
        say = bar.write if progress else echo
        try:
            for cell in pending:
                bar.set_postfix_str(f"{cell.arm}+{cell.recommender} s{cell.seed}")
                journal("start", cell)
                started = time.time()
                try:
                    result = run_cell(cell, out, data.get(cell))
                except Exception as exc:
                    message = str(exc) if isinstance(exc, KgrecError) else f"{type(exc).__name__}: {exc}"
                    journal("fail", cell, message)
                    outcome.failed.append((cell, message))
                    say(f"FAILED {describe(cell)}: {message} (see {cell_dir(out, cell) / 'cell.log'})")
                    if fail_fast:
                        raise
                    bar.update(1)
                    continue
                journal("finish", cell)
                outcome.ran.append(cell.id)
                bar.update(1)
                shown = ", ".join(f"{m} {result['metrics']['test'].get(m, float('nan')):.4f}" for m in study.metrics)
                count = outcome.skipped + len(outcome.ran) + len(outcome.failed)
                say(f"[{count}/{len(todo)}] {describe(cell)}: {shown} ({time.time() - started:.0f} s)")
        finally:
            bar.close()
    return outcome
