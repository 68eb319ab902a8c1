"""``kgrec compare RUN_DIR...``: finished runs side by side.

- the settings that differ between the runs (their recorded configs, flattened to
  ``section.key``; every setting they share is left out);
- their metrics: selected epoch, how training stopped, validation and test metrics;
- a plot of their validation curves (``valid_<metric>`` per epoch, the selected epoch marked);
- with per-user results saved (``per_user.npz``) and the same test split, a user-paired test
  of every run against the first (paired t and Wilcoxon over users, mean difference with its
  95 % interval, Cohen's d_z: :func:`kgrec.study.stats.user_paired`), Holm-adjusted over the
  comparisons when there are several.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kgrec.errors import KgrecError
from kgrec.experiment.per_user import load_per_user
from kgrec.experiment.run import check_run_format
from kgrec.study.stats import PairedUsers, _fmt_p, align_users, holm, user_paired

MISSING = "–"
METRIC_ORDER = ("recall", "ndcg", "precision", "hit")


@dataclass
class RunRecord:
    """What ``compare`` reads of one finished run."""

    run_dir: Path
    label: str
    manifest: dict[str, Any]
    settings: dict[str, Any]
    """The recorded config, flattened: ``train.lr`` -> 0.001."""
    metrics: dict[str, Any]
    history: list[dict[str, str]]

    @property
    def select_metric(self) -> str:
        return str(self.settings.get("train.select_metric", "recall@20"))

    @property
    def test_split(self) -> str | None:
        return self.manifest.get("split", {}).get("test", {}).get("sha256")


@dataclass
class PairedResult:
    """Run ``other`` against the first run on one metric, over the users both evaluated."""

    first: str
    other: str
    metric: str
    result: PairedUsers | None
    note: str = ""
    holm_t: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"first": self.first, "other": self.other, "metric": self.metric, "note": self.note,
                "holm_t_pvalue": self.holm_t,
                "users": self.result.to_dict() if self.result is not None else None}


def flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def read_run(run_dir: str | Path, label: str) -> RunRecord:
    """A finished run's record, or a one-line error saying why it cannot be compared."""
    run_dir = Path(run_dir)
    records = {}
    for name in ("config.json", "metrics.json"):
        path = run_dir / name
        if not path.is_file():
            what = "not a kgrec run directory" if name == "config.json" else "not a finished run"
            raise KgrecError(f"{run_dir} is {what} (no {name})")
        try:
            records[name] = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise KgrecError(f"{path}: unreadable ({exc})") from None
        if not isinstance(records[name], dict):
            raise KgrecError(f"{path}: not a kgrec run record")
    manifest = records["config.json"]
    check_run_format(manifest, run_dir)
    history_path = run_dir / "history.csv"
    history = list(csv.DictReader(history_path.open())) if history_path.is_file() else []
    return RunRecord(run_dir, label, manifest, flatten(manifest.get("config", {})),
                     records["metrics.json"], history)


def read_runs(run_dirs: Sequence[str | Path]) -> list[RunRecord]:
    return [read_run(d, f"[{n}]") for n, d in enumerate(run_dirs, start=1)]


def differing_settings(records: Sequence[RunRecord]) -> list[tuple[str, list[Any]]]:
    """``(key, value per run)`` for every setting whose values are not all equal (a key a run
    lacks, e.g. one added by a later kgrec, shows as missing)."""
    keys: list[str] = []
    for record in records:
        keys += [k for k in record.settings if k not in keys]
    out = []
    for key in keys:
        values = [record.settings.get(key, MISSING) for record in records]
        if any(json.dumps(v, sort_keys=True, default=str) != json.dumps(values[0], sort_keys=True, default=str)
               for v in values[1:]):
            out.append((key, values))
    return out


def metric_names(records: Sequence[RunRecord]) -> list[str]:
    """Test metrics every run reports (validation where a run reports no test), in the
    order of the first run."""
    names = None
    for record in records:
        found = list(record.metrics.get("test") or record.metrics.get("valid") or {})
        names = found if names is None else [n for n in names if n in found]
    order = {name: n for n, name in enumerate(METRIC_ORDER)}

    def key(name: str) -> tuple[int, int, str]:
        base, _, k = name.partition("@")
        return order.get(base, len(order)), int(k) if k.isdigit() else 0, name

    return sorted(names or [], key=key)


def paired_tests(records: Sequence[RunRecord], metrics: Sequence[str]) -> list[PairedResult]:
    """Every run against the first on ``metrics``, user-paired over the users both
    evaluated; Holm's adjustment of the t-test p-values over the whole family."""
    first = records[0]
    base = load_per_user(first.run_dir)
    out: list[PairedResult] = []
    for record in records[1:]:
        for metric in metrics:
            note = ""
            other = load_per_user(record.run_dir)
            if base is None or other is None:
                missing = first if base is None else record
                note = f"{missing.label} has no per-user results (per_user.npz)"
            elif first.test_split is None or first.test_split != record.test_split:
                note = "the runs' test splits differ: users cannot be paired"
            elif metric not in base or metric not in other:
                note = f"{metric} is not in both runs' per-user results"
            if note:
                out.append(PairedResult(first.label, record.label, metric, None, note))
                continue
            _, a, b = align_users(other, base, metric)
            out.append(PairedResult(first.label, record.label, metric,
                                    user_paired(np.asarray(a), np.asarray(b))))
    adjusted = holm([r.result.t_pvalue if r.result is not None else None for r in out])
    for row, p in zip(out, adjusted):
        row.holm_t = p
    return out


def plot_curves(records: Sequence[RunRecord], metric: str, path: Path) -> Path | None:
    """Validation ``metric`` per epoch for every run, the selected epoch marked; None when
    no run logged it."""
    from kgrec.study.plots import _figure

    fig, (ax,) = _figure(7.0, 4.2)
    drawn = False
    for n, record in enumerate(records):
        points = [(int(row["epoch"]), float(row[f"valid_{metric}"])) for row in record.history
                  if row.get(f"valid_{metric}") not in (None, "")]
        if not points:
            continue
        drawn = True
        xs, ys = zip(*points)
        color = f"C{n % 10}"
        label = f"{record.label} {record.run_dir.name}"[:60]
        if len(points) == 1:  # a closed-form floor (pop, ease): a level to beat
            ax.axhline(ys[0], linestyle="--", linewidth=1, color=color, label=label)
        else:
            ax.plot(xs, ys, marker="." if len(xs) < 60 else None, color=color, label=label)
        best = int(record.metrics.get("best_epoch", 0))
        chosen = [y for x, y in points if x == best]
        if chosen:
            ax.plot([best], chosen, marker="o", markersize=9, markerfacecolor="none", color=color)
    if not drawn:
        return None
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"validation {metric}")
    ax.set_title(f"validation {metric} per epoch (circle: selected epoch)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else "nan"
    if isinstance(value, (list, tuple)):
        return ",".join(_cell(v) for v in value)
    return MISSING if value is None else str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[c])) for r in [header, *rows]) for c in range(len(header))]
    line = lambda r: "  ".join(f"{str(v):<{w}}" if c == 0 else f"{str(v):>{w}}"  # noqa: E731
                               for c, (v, w) in enumerate(zip(r, widths))).rstrip()
    return [line(header), "-" * len(line(header)), *(line(r) for r in rows)]


def format_report(records: Sequence[RunRecord], settings: list[tuple[str, list[Any]]],
                  metrics: Sequence[str], paired: Sequence[PairedResult]) -> str:
    labels = [r.label for r in records]
    lines = ["runs:"] + [f"  {r.label} {r.run_dir}" for r in records] + [""]
    if settings:
        lines += ["settings that differ:"] + _table(["setting", *labels],
                                                   [[k, *(_cell(v) for v in vals)] for k, vals in settings])
    else:
        lines += ["settings that differ: none (same config)"]
    rows = [["best epoch", *(_cell(r.metrics.get("best_epoch")) for r in records)],
            ["epochs run", *(_cell(r.metrics.get("epochs_run")) for r in records)],
            ["stopped by", *(_cell(r.metrics.get("stopped_by")) for r in records)],
            ["selected by", *(_cell(r.metrics.get("selected_by")) for r in records)]]
    selecting = sorted({r.select_metric for r in records})
    for name in selecting:  # the numbers that selected each run's epoch
        rows.append([f"valid {name}", *(_cell(r.metrics.get("valid", {}).get(name)) for r in records)])
    part = "test" if all(r.metrics.get("test") for r in records) else "valid"
    for name in metrics:
        if part == "test" or name not in selecting:
            rows.append([f"{part} {name}", *(_cell(r.metrics.get(part, {}).get(name)) for r in records)])
    lines += ["", f"metrics ({part} at the validation-selected epoch):"] + _table(["", *labels], rows)
    if paired:
        lines += ["", f"user-paired tests against {records[0].label} (other minus first, over users; "
                      "p-values two-sided, Holm-adjusted t over all rows):"]
        body = []
        for row in paired:
            if row.result is None:
                body.append([f"{row.other} {row.metric}", "", "", "", "", "", "", "", row.note])
                continue
            u = row.result
            ci = (f"[{u.ci_low:+.4f}, {u.ci_high:+.4f}]" if u.ci_low is not None and u.ci_high is not None
                  else MISSING)
            body.append([f"{row.other} {row.metric}", str(u.users), f"{u.mean_diff:+.4f}", ci,
                         _cell(u.dz), _fmt_p(u.t_pvalue), _fmt_p(row.holm_t), _fmt_p(u.wilcoxon_pvalue),
                         u.note])
        lines += _table(["comparison", "users", "diff", "95% CI", "d_z", "t p", "Holm t p",
                         "Wilcoxon p", "note"], body)
    return "\n".join(lines)


def to_json(records: Sequence[RunRecord], settings: list[tuple[str, list[Any]]],
            metrics: Sequence[str], paired: Sequence[PairedResult], plot: Path | None) -> dict[str, Any]:
    return {
        "runs": [{"label": r.label, "run_dir": str(r.run_dir), "best_epoch": r.metrics.get("best_epoch"),
                  "epochs_run": r.metrics.get("epochs_run"), "stopped_by": r.metrics.get("stopped_by"),
                  "valid": {m: r.metrics.get("valid", {}).get(m) for m in metrics},
                  "test": {m: (r.metrics.get("test") or {}).get(m) for m in metrics}} for r in records],
        "settings": {key: values for key, values in settings},
        "paired": [row.to_dict() for row in paired],
        "plot": str(plot) if plot is not None else None,
    }
