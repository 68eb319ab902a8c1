"""``kgrec tune``: Optuna over ``kgrec.run``, resumable, shareable, blind to the test split.

- **Sampler and pruner**: TPE (``optuna.samplers.TPESampler``, seeded) and median pruning
  (``optuna.pruners.MedianPruner``) on the validation curve: every evaluation of a trial is
  reported as the intermediate value at its epoch, and a trial whose value falls below the
  median of earlier trials at the same epoch stops there.
- **Storage**: any Optuna storage URL; by default ``sqlite:///<out>/tune.db``. Trials live
  in the storage, so a tuning run that is interrupted continues with the next call (the
  trial that was running is lost, counted as failed, and not counted towards ``trials``),
  and several processes given the same storage and name share one study (each stops when
  the study holds ``trials`` finished trials; each may add one trial more than that).
- **Objective**: the best validation value of ``train.select_metric`` over the trial's
  epochs, i.e. the validation score at the epoch the run would select.
- **The test split is never read**: every trial trains on the dataset with its test split
  emptied, and ``kgrec.run(test=False)`` evaluates no test (``eval.track_test`` is refused).
- **Equal budget**: every trial runs with the same ``train.epochs`` and ``patience``.
- **Output** (``out``): ``best.toml`` (the base settings with the best trial's values, which
  ``kgrec run --config`` and study files accept), ``trials.csv`` (one row per trial),
  ``summary.json``, ``history.png`` (with matplotlib), ``trials/<number>/`` (each trial's
  run record, without checkpoints).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from kgrec import registry
from kgrec.config import RunConfig, deep_merge, dump_toml, without_added_defaults
from kgrec.data.load import load_dataset
from kgrec.data.recdata import Interactions, RecData
from kgrec.errors import ConfigError, KgrecError
from kgrec.experiment import check_requirements, resolve_config, run
from kgrec.experiment.resolve import ConfigLike, as_raw
from kgrec.train.checkpoint import CHECKPOINT_DIR, atomic_write_text
from kgrec.tune.space import Dist, build_space, with_params

Log = Callable[[str], None]
FINISHED_STATES = ("COMPLETE", "PRUNED")


@dataclass
class TuneResult:
    """What a tuning run found (also on disk in ``out``)."""

    out: Path
    name: str
    storage: str
    metric: str
    best_value: float
    best_params: dict[str, Any]
    best_trial: int
    best_config: dict[str, Any]
    """The raw config of the best trial (base settings and tuned values)."""
    trials: list[dict[str, Any]] = field(default_factory=list)
    space: dict[str, Dist] = field(default_factory=dict)

    @property
    def best_toml(self) -> Path:
        return self.out / "best.toml"


def _optuna():
    try:
        import optuna
    except ImportError:  # pragma: no cover - a dependency of kgrec
        raise KgrecError("kgrec tune needs optuna (pip install optuna)") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def tuning_data(data: RecData) -> RecData:
    """``data`` with its test split emptied: what every trial trains and validates on."""
    return data.replace(test=Interactions.empty())


def fingerprint(raw: Mapping[str, Any], space: Mapping[str, Dist], metric: str) -> str:
    """What a stored study was tuned for: its base settings (less settings added later, at
    their defaults, so an upgrade does not orphan a stored study), space and objective."""
    payload = {"base": without_added_defaults(raw),
               "space": {k: d.to_dict() for k, d in sorted(space.items())}, "metric": metric}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _storage(optuna, url: str):
    """An RDB storage with heartbeats (a killed process's running trial is failed after two
    minutes, so other processes sharing the study do not wait for it), or the URL as given."""
    if url.startswith(("sqlite:", "mysql", "postgresql")):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # heartbeats are "experimental" in Optuna
            return optuna.storages.RDBStorage(url, heartbeat_interval=30, grace_period=120)
    return url


def tune(config: ConfigLike | list[ConfigLike], *, trials: int, out: str | Path,
         storage: str | None = None, name: str | None = None,
         space: str | Path | Mapping[str, Any] | None = None, data: RecData | None = None,
         sampler_seed: int = 0, prune: bool = True, timeout: float | None = None,
         log: Log | None = print) -> TuneResult:
    """Tune ``config`` (a config or a list of layers, later winning) for ``trials`` finished
    trials; see the module docstring. ``data`` replaces loading the dataset (its test split
    is emptied either way)."""
    optuna = _optuna()
    say = log or (lambda _: None)
    if trials < 1:
        raise ConfigError("tune: trials must be >= 1")
    layers = config if isinstance(config, list) else [config]
    raw: dict[str, Any] = {}
    for layer in layers:
        raw = deep_merge(raw, as_raw(layer)) if layer is not None else raw
    base = resolve_config(raw)
    if base.eval.track_test:
        raise ConfigError("tuning never reads the test split; set eval.track_test = false")
    rec_cls = registry.load("recommender", base.recommender)
    aug_cls = registry.load("augmenter", base.augmenter)
    searched = build_space(base.recommender, rec_cls, base.augmenter, aug_cls, space)
    if not searched:
        say(f"tune: nothing to search for {base.augmenter}+{base.recommender}; one trial with the given settings")
    for key, dist in searched.items():  # every bound resolves, before anything trains
        for value in dist.values():
            try:
                resolve_config(with_params(raw, {key: value}))
            except ConfigError as exc:
                raise ConfigError(f"search space {key} = {value!r}: {exc}") from None
    metric = base.train.select_metric
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    url = storage or f"sqlite:///{(out / 'tune.db').resolve()}"
    study_name = name or "kgrec-tune"
    stamp = fingerprint(base.to_dict(), searched, metric)
    if data is None:
        data = load_dataset(base.dataset, base.format, base.split, base.data)
    for kind, cls_name, cls in (("recommender", base.recommender, rec_cls),
                                ("augmenter", base.augmenter, aug_cls)):
        check_requirements(kind, cls_name, cls, data)
    blind = tuning_data(data)

    sampler = optuna.samplers.TPESampler(seed=sampler_seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0) if prune else optuna.pruners.NopPruner()
    try:
        study = optuna.create_study(storage=_storage(optuna, url), study_name=study_name,
                                    direction="maximize", sampler=sampler, pruner=pruner,
                                    load_if_exists=True)
    except Exception as exc:  # a bad URL, an unreachable database
        raise KgrecError(f"tune: cannot open Optuna storage {url!r} ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})") from None
    if study.trials:  # resumed: a fresh sampler stream, or it would repeat the first trials
        study.sampler = optuna.samplers.TPESampler(seed=sampler_seed + len(study.trials))
    recorded = study.user_attrs.get("kgrec_fingerprint")
    if recorded is None:
        study.set_user_attr("kgrec_fingerprint", stamp)
        study.set_user_attr("kgrec_base", json.loads(json.dumps(base.to_dict(), default=str)))
        study.set_user_attr("kgrec_space", {k: d.to_dict() for k, d in searched.items()})
        study.set_user_attr("kgrec_metric", metric)
    elif recorded != stamp:
        raise ConfigError(f"tune: study {study_name!r} in {url} was tuned with other settings, space or "
                          "metric; give another --name (or --storage) or the same settings")

    def objective(trial) -> float:
        params = {key: _suggest(trial, key, dist) for key, dist in searched.items()}
        trial_raw = with_params(raw, params)
        trial_config = resolve_config(trial_raw)
        run_dir = out / "trials" / f"{trial.number:04d}"
        shutil.rmtree(run_dir, ignore_errors=True)

        def report(row: dict[str, Any]) -> None:
            value = row.get(f"valid_{metric}")
            if value is None:
                return
            trial.report(float(value), int(row["epoch"]))
            if prune and trial.should_prune():
                trial.set_user_attr("epochs_run", int(row["epoch"]))
                raise optuna.TrialPruned()

        started = time.time()
        try:
            result = run(trial_config, data=blind, out=run_dir, progress=False, log=None,
                         on_epoch=report, test=False)
        finally:
            (run_dir / "best.pt").unlink(missing_ok=True)  # trials keep their record, not weights
            shutil.rmtree(run_dir / CHECKPOINT_DIR, ignore_errors=True)
            trial.set_user_attr("seconds", round(time.time() - started, 2))
            trial.set_user_attr("run_dir", str(run_dir.relative_to(out)))
        conv = result.convergence
        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr("epochs_run", len(result.history))
        trial.set_user_attr("stopped_by", conv.get("stopped_by"))
        trial.set_user_attr("converged", conv.get("converged"))
        return float(result.valid[metric])

    started = time.time()
    failures = 0
    while True:
        done = _count(study, FINISHED_STATES)
        if done >= trials:
            break
        if timeout is not None and time.time() - started > timeout:
            say(f"tune: timeout after {done} finished trials")
            break
        before = len(study.trials)
        study.optimize(objective, n_trials=1, catch=(KgrecError,))
        last = study.trials[-1] if len(study.trials) > before else None
        if last is None:
            continue
        state = last.state.name
        value = "" if last.value is None else f" valid {metric} {last.value:.4f}"
        if state == "FAIL":
            failures += 1
            say(f"trial {last.number}: failed (see {out / 'trials' / f'{last.number:04d}'})")
            if failures >= max(trials, 3):
                raise KgrecError(f"tune: {failures} trials failed in a row; check the settings "
                                 f"(last trial's run: {out / 'trials' / f'{last.number:04d}'})")
            continue
        failures = 0
        say(f"trial {last.number}: {state.lower()}{value} {_params_text(last.params)} "
            f"[{_count(study, FINISHED_STATES)}/{trials}]")
    return _finish(study, out, url, study_name, metric, raw, searched)


def _count(study, states: tuple[str, ...]) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False) if t.state.name in states)


def _suggest(trial, key: str, dist: Dist) -> Any:
    if dist.kind == "categorical":
        return trial.suggest_categorical(key, list(dist.choices))
    if dist.kind == "int":
        return trial.suggest_int(key, int(dist.low), int(dist.high), step=int(dist.step or 1), log=dist.log)
    return trial.suggest_float(key, float(dist.low), float(dist.high), step=dist.step, log=dist.log)


def _params_text(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def trial_rows(study) -> list[dict[str, Any]]:
    """One row per trial: number, state, value, each parameter, epochs, timing."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"number": t.number, "state": t.state.name,
                               "value": t.value if t.value is not None else ""}
        row.update({f"param {k}": v for k, v in t.params.items()})
        for key in ("best_epoch", "epochs_run", "stopped_by", "converged", "seconds", "run_dir"):
            row[key] = t.user_attrs.get(key, "")
        rows.append(row)
    return rows


def _finish(study, out: Path, url: str, name: str, metric: str, raw: dict[str, Any],
            searched: Mapping[str, Dist]) -> TuneResult:
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if not complete:
        raise KgrecError(f"tune: no trial of study {name!r} finished (see {out / 'trials'})")
    best = max(complete, key=lambda t: (t.value, -t.number))
    best_raw = with_params(raw, best.params)
    rows = trial_rows(study)
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out / "trials.csv", buffer.getvalue())
    states: dict[str, int] = {}
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
    header = (f"kgrec tune: the best of {len(complete)} complete trials ({', '.join(f'{v} {k.lower()}' for k, v in sorted(states.items()))})\n"
              f"study {name!r} in {url}\n"
              f"objective: valid {metric} = {best.value:.6g} (trial {best.number}); the test split was not read\n"
              f"tuned: {', '.join(f'{k} ({d.describe()})' for k, d in searched.items()) or 'nothing'}\n"
              "use: kgrec run --config best.toml, or as a study's config (docs/studies.md)")
    atomic_write_text(out / "best.toml", dump_toml(best_raw, header))
    summary = {"name": name, "storage": url, "metric": f"valid {metric}", "trials": states,
               "best": {"trial": best.number, "value": best.value, "params": best.params,
                        "best_epoch": best.user_attrs.get("best_epoch"),
                        "converged": best.user_attrs.get("converged")},
               "space": {k: d.to_dict() for k, d in searched.items()}, "config": best_raw}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, default=str))
    _plot(study, out / "history.png")
    return TuneResult(out, name, url, metric, float(best.value), dict(best.params), best.number,
                      best_raw, rows, dict(searched))


def _plot(study, path: Path) -> None:
    """Optuna's optimisation-history plot, where matplotlib is installed."""
    try:
        import warnings

        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
        import optuna.visualization.matplotlib as ovm

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ax = ovm.plot_optimization_history(study)
            fig = ax.figure
            fig.set_size_inches(7, 4)
            fig.tight_layout()
            fig.savefig(path, format="png", dpi=110)
            import matplotlib.pyplot as plt

            plt.close(fig)
    except Exception:  # plots are a convenience; the tables are the record
        return


def best_config_of(out: str | Path) -> RunConfig:
    """The resolved config of a finished tuning run's ``best.toml``."""
    return resolve_config(Path(out) / "best.toml")
