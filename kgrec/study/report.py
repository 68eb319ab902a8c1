"""A study's report: Markdown, CSV and JSON tables plus PNG plots, built from stored results.

The report is a pure function of the grid and the cells' ``result.json`` files (no clock, no
training), so ``kgrec study FILE --report`` rebuilds exactly the tables a finished run wrote.
Only validation-selected test metrics are tabulated: each run's ``metrics.json`` "test".
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from kgrec.study import plots
from kgrec.study.grid import Cell, Study
from kgrec.study.stats import Row, summarize
from kgrec.train.checkpoint import atomic_write_text

CSV_COLUMNS = ("dataset", "noise", "recommender", "arm", "metric", "n", "mean", "std", "baseline",
               "rel_change_pct", "pairs", "t_stat", "t_pvalue", "wilcoxon_pvalue", "note", "values")


def _num(value: float | None, digits: int = 4) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.3f}"


def _selection(cells: Sequence[Cell]) -> str:
    return ", ".join(sorted({f"valid {c.config.train.select_metric}" for c in cells}))


def _header(study: Study, cells: Sequence[Cell], results: Mapping[str, Any]) -> list[str]:
    unique = {c.id for c in cells}
    missing = sorted({c.id for c in cells if c.id not in results})
    noise_seed = "each cell's training seed" if study.noise_seed is None else str(study.noise_seed)
    lines = [f"# Study `{study.name}`", ""]
    if study.description:
        lines += [study.description.strip(), ""]
    lines += [
        "**Only validation-selected test metrics are tabulated**: each run's `metrics.json` "
        f"\"test\", i.e. the test metrics at the epoch chosen by {_selection(cells)}; the test split "
        "selects nothing. mean ± sample standard deviation (ddof = 1) over seeds. "
        + (f"Δ is the relative change of the mean against the baseline arm `{study.baseline}` with the "
           "same dataset, noise and recommender. " if study.baseline else
           "No baseline: the study has no `none` arm and sets no `baseline`, so nothing is compared. ")
        + "p (t) is the two-sided paired t-test over the seeds both arms ran "
        "(`scipy.stats.ttest_rel`); p (W) the Wilcoxon signed-rank test, reported only from 6 pairs "
        "on (below that its exact two-sided p-value cannot be under 2/2^n ≥ 0.0625). p-values are "
        "not corrected for multiple comparisons.", "",
        f"- cells: {len(unique) - len(missing)} of {len(unique)} finished"
        + (f"; missing: {', '.join(missing)}" if missing else ""),
        f"- seeds: {', '.join(map(str, study.seeds))} (train.seed; the split is fixed by split.seed)",
        f"- datasets: {'; '.join(f'`{d.spec}`' if d.name == d.spec else f'{d.name} = `{d.spec}`' for d in study.datasets)}",
        f"- noise: {'; '.join(_noise_text(n) for n in study.noise)} (noise seed: {noise_seed})",
        f"- recommenders: {', '.join(r.label for r in study.recommenders)}",
        "- arms (settings laid over the shared ones): "
        + "; ".join(f"`{a.label}` {_compact(a.config)}" for a in study.arms),
        f"- shared settings (`base`): {_compact(study.base)}", "",
    ]
    return lines


def _noise_text(noise: Mapping[str, float]) -> str:
    return ", ".join(f"{t} {f:g}" for t, f in noise.items()) or "clean"


def _compact(mapping: Mapping[str, Any]) -> str:
    return f"`{json.dumps(mapping, sort_keys=True)}`" if mapping else "(none)"


def _varying(rows: Sequence[Row]) -> list[str]:
    """Which of dataset / noise / recommender take more than one value (others are in the header)."""
    return [k for k in ("dataset", "noise", "recommender") if len({getattr(r, k) for r in rows}) > 1]


def _metric_table(rows: Sequence[Row], baseline: str) -> list[str]:
    keys = _varying(rows) + ["arm"]
    head = keys + ["n", "mean ± std", f"Δ vs {baseline}" if baseline else "Δ", "p (t)", "p (W)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        if r.arm == baseline:
            delta, t_p, w_p = "baseline", "", ""
        elif r.baseline is None:
            delta, t_p, w_p = "–", "–", "–"
        else:
            delta = "–" if r.rel_change is None else f"{r.rel_change:+.1f} %"
            t_p = _p(r.t_pvalue) if r.t_pvalue is not None else ("n/a" if r.pairs >= 2 else "–")
            w_p = _p(r.wilcoxon_pvalue) if r.wilcoxon_pvalue is not None else "n<6" if r.pairs < 6 else "n/a"
        spread = f"{_num(r.mean)} ± {_num(r.std)}" if r.n > 1 else _num(r.mean)
        lines.append("| " + " | ".join([str(getattr(r, k)) for k in keys]
                                        + [str(r.n), spread, delta, t_p, w_p]) + " |")
    return lines


def _cost_table(cells: Sequence[Cell], results: Mapping[str, Any], keys: list[str]) -> list[str]:
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for cell in cells:
        runs = groups.setdefault(cell.group, [])
        if cell.id in results:
            runs.append(results[cell.id]["metrics"])
    index = {"dataset": 0, "noise": 1, "recommender": 2}
    head = keys + ["arm", "runs", "epochs run", "best epoch", "s / epoch", "stopped early"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for key, runs in groups.items():
        labels = [key[index[k]] for k in keys] + [key[3]]
        if not runs:
            lines.append("| " + " | ".join(labels) + " | 0 | – | – | – | – |")
            continue
        mean = lambda name: float(np.mean([m[name] for m in runs]))  # noqa: E731
        lines.append("| " + " | ".join(labels) + f" | {len(runs)} | {mean('epochs_run'):.1f} | "
                     f"{mean('best_epoch'):.1f} | {mean('mean_epoch_seconds'):.2f} | "
                     f"{sum(bool(m['stopped_early']) for m in runs)} of {len(runs)} |")
    return lines


def _csv(rows: Sequence[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        d = r.to_dict()
        d["rel_change_pct"] = d.pop("rel_change")
        d["values"] = ";".join(f"{seed}:{value!r}" for seed, value in r.values.items())
        writer.writerow(["" if d[c] is None else d[c] for c in CSV_COLUMNS])
    return out.getvalue()


def _cells_json(cells: Sequence[Cell], results: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for cell in cells:
        entry = cell.describe()
        result = results.get(cell.id)
        entry["status"] = "finished" if result else "missing"
        if result:
            m = result["metrics"]
            entry.update({k: m[k] for k in ("test", "valid", "best_epoch", "epochs_run",
                                              "stopped_early", "mean_epoch_seconds", "selected_by")})
            entry["run_dir"] = f"cells/{cell.id}/{result.get('run_dir', 'run')}"
        out.append(entry)
    return out


def write_report(study: Study, cells: Sequence[Cell], results: Mapping[str, Any], out_dir: Path,
                 with_plots: bool = True) -> dict[str, Path]:
    """Write results.md / results.csv / results.json (and plots) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = summarize(cells, results, study.metrics, study.baseline)
    written: dict[str, Path] = {}
    images: list[tuple[str, str]] = []
    why_not = plots.matplotlib_missing() if with_plots else "plots were not asked for"
    if why_not is None:
        for metric in study.metrics:
            if any(r.metric == metric and r.n > 0 for r in rows):
                bar = plots.bars(rows, metric, out_dir / f"bars_{plots.slug(metric)}.png")
                images.append((f"{metric} per arm", bar.name))
            curve = plots.noise_curves(rows, metric, out_dir / f"noise_{plots.slug(metric)}.png")
            if curve is not None:
                images.append((f"{metric} against noise", curve.name))
    lines = _header(study, cells, results)
    fixed = [k for k in ("dataset", "noise", "recommender") if k not in _varying(rows)]
    if fixed and rows:
        lines += ["In every table: " + ", ".join(f"{k} = {getattr(rows[0], k)}" for k in fixed) + ".", ""]
    for metric in study.metrics:
        lines += [f"## {metric}", ""] + _metric_table([r for r in rows if r.metric == metric], study.baseline) + [""]
    lines += ["## Run cost (means over finished seeds)", ""] + _cost_table(cells, results, _varying(rows)) + [""]
    lines += ["## Plots", ""]
    lines += [f"![{alt}]({name})" for alt, name in images] or [f"No plots: {why_not}."]
    written["md"] = out_dir / "results.md"
    atomic_write_text(written["md"], "\n".join(lines) + "\n")
    written["csv"] = out_dir / "results.csv"
    atomic_write_text(written["csv"], _csv(rows))
    payload = {"study": study.name, "description": study.description, "selected_by": _selection(cells),
               "tabulated": "validation-selected test metrics (metrics.json 'test')",
               "baseline": study.baseline, "metrics": study.metrics, "seeds": study.seeds,
               "spec": study.raw, "rows": [r.to_dict() for r in rows], "cells": _cells_json(cells, results)}
    written["json"] = out_dir / "results.json"
    atomic_write_text(written["json"], json.dumps(payload, indent=2, default=str, allow_nan=False) + "\n")
    for _, name in images:
        written[name] = out_dir / name
    return written
