"""Tune every arm of a study on an equal budget before its seeds run (the ``[tune]`` table).

For each dataset, recommender and arm (and each floor with a search space, unless
``tune.floors = false``) one ``kgrec tune`` runs on the clean data, starting from exactly the
settings the arm's cells would use, with ``tune.trials`` finished trials of ``tune.epochs``
epochs each, at ``train.seed = tune.seed`` (default: the study's first seed). Noise cells reuse
the values tuned on the clean data (the robustness protocol: tune on clean data, then break
it). Every tuning lives in ``<study>/tune/<key>/`` with one shared Optuna storage
(``<study>/tune/tune.db`` unless ``tune.storage`` names another), keyed by a hash of what it
tunes, so an interrupted study resumes its tuning, and changing an arm re-tunes that arm only.
The tuned values are laid over the arm's settings in its cells (and so in their ids).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from kgrec.study.grid import (Component, Dataset, Study, TunedKey, floor_raw_config, raw_config)


@dataclass(frozen=True)
class TuneJob:
    """One arm's (or floor's) tuning."""

    key: TunedKey
    label: str
    raw: dict[str, Any]
    """The settings every trial starts from."""
    dataset: Dataset
    id: str


def _space_of(study: Study) -> Any:
    space = study.tune.space if study.tune is not None else None
    if isinstance(space, str):
        from kgrec.config import load_toml

        return load_toml(space)
    return space


def jobs(study: Study) -> list[TuneJob]:
    """Every tuning the study needs, deduplicated by what it tunes."""
    from kgrec import registry
    from kgrec.tune.space import build_space

    spec = study.tune
    if spec is None:
        return []
    seed = spec.seed if spec.seed is not None else study.seeds[0]
    space = _space_of(study)
    out: dict[str, TuneJob] = {}
    for dataset in study.datasets:
        pairs: list[tuple[TunedKey, str, dict[str, Any]]] = []
        for rec in study.recommenders:
            for arm in study.arms:
                pairs.append(((dataset.name, rec.label, arm.label), f"{arm.label} + {rec.label}",
                              raw_config(study, dataset, rec, arm, seed)))
        if spec.floors:
            for floor in study.floors:
                cls = registry.load("recommender", floor.name)
                if build_space(floor.name, cls, "none", registry.load("augmenter", "none"), space):
                    pairs.append(((dataset.name, "", floor.label), floor.label,
                                  floor_raw_config(study, dataset, floor, seed)))
        for key, label, raw in pairs:
            raw = dict(raw)
            if spec.epochs is not None:
                raw["train"] = {**raw.get("train", {}), "epochs": spec.epochs}
            payload = {"raw": raw, "space": space, "trials": spec.trials, "prune": spec.prune,
                       "sampler_seed": spec.sampler_seed}
            digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
            job = out.setdefault(digest, TuneJob(key, f"{label} on {dataset.name}", raw, dataset, digest))
            if job.key != key:  # identical settings: one tuning serves both
                out[f"{digest}:{key}"] = TuneJob(key, job.label, raw, dataset, digest)
    return list(out.values())


def storage_url(study: Study, root: Path) -> str:
    assert study.tune is not None
    return study.tune.storage or f"sqlite:///{(root / 'tune' / 'tune.db').resolve()}"


def load_tuned(study: Study, root: Path) -> tuple[dict[TunedKey, dict[str, Any]], list[TuneJob]]:
    """The tuned values found on disk, and the jobs still to tune."""
    found: dict[TunedKey, dict[str, Any]] = {}
    missing = []
    for job in jobs(study):
        summary = root / "tune" / job.id / "summary.json"
        if summary.is_file():
            data = json.loads(summary.read_text(encoding="utf-8"))
            done = sum(v for k, v in data.get("trials", {}).items() if k in ("COMPLETE", "PRUNED"))
            if done >= study.tune.trials:  # type: ignore[union-attr]
                found[job.key] = dict(data["best"]["params"])
                continue
        missing.append(job)
    return found, missing


def run_tuning(study: Study, root: Path, data_for: Callable[[Any], Any],
               echo: Callable[[str], None] = print) -> dict[TunedKey, dict[str, Any]]:
    """Tune every job not yet tuned (resuming interrupted ones); returns every job's values."""
    from kgrec.experiment import resolve_config
    from kgrec.tune import tune

    spec = study.tune
    assert spec is not None
    tuned, missing = load_tuned(study, root)
    url = storage_url(study, root)
    (root / "tune").mkdir(parents=True, exist_ok=True)
    for index, job in enumerate(missing, 1):
        echo(f"tuning {index}/{len(missing)}: {job.label} ({spec.trials} trials, "
             f"{job.raw['train'].get('epochs', 'default')} epochs each)")
        result = tune(job.raw, trials=spec.trials, out=root / "tune" / job.id, storage=url, name=job.id,
                      space=_space_of(study), data=data_for(resolve_config(job.raw)),
                      sampler_seed=spec.sampler_seed,
                      prune=spec.prune, timeout=spec.timeout, log=lambda line: echo(f"  {line}"))
        tuned[job.key] = dict(result.best_params)
    return tuned


def describe(study: Study, root: Path) -> list[str]:
    """Report lines: what each arm's tuning found."""
    if study.tune is None:
        return []
    spec = study.tune
    lines = [f"Every arm was tuned before its seeds ran (`kgrec tune`: TPE, "
             f"{'median pruning, ' if spec.prune else ''}{spec.trials} finished trials of "
             f"{spec.epochs or 'the cells’'} epochs each, the same for every arm; objective: the "
             "validation metric; the test split was not read):", ""]
    for job in jobs(study):
        summary = root / "tune" / job.id / "summary.json"
        if not summary.is_file():
            lines.append(f"- `{job.label}`: not tuned yet")
            continue
        data = json.loads(summary.read_text(encoding="utf-8"))
        params = ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
                           for k, v in data["best"]["params"].items()) or "nothing to tune"
        trials = ", ".join(f"{v} {k.lower()}" for k, v in sorted(data.get("trials", {}).items()))
        lines.append(f"- `{job.label}`: {params} (best {data['metric']} {data['best']['value']:.4f}; "
                     f"trials: {trials}; `tune/{job.id}/trials.csv`)")
    return lines + [""]


__all__ = ["Component", "TuneJob", "describe", "jobs", "load_tuned", "run_tuning", "storage_url"]
