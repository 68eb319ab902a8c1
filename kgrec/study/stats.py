"""Aggregate finished cells over seeds and test each arm against the study's baseline.

For every (dataset, noise, recommender, arm) and metric: the per-seed values, their mean and
sample standard deviation (ddof = 1), the relative change of the mean against the baseline
arm of the same dataset, noise and recommender, and paired tests over the seeds both ran:
the two-sided paired t-test (``scipy.stats.ttest_rel``) and, from 6 pairs on, the Wilcoxon
signed-rank test. Below 6 pairs the exact two-sided Wilcoxon p-value cannot fall below
2 / 2**n >= 0.0625, so it could never show a difference and is not reported.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from kgrec.study.grid import Cell

WILCOXON_MIN_PAIRS = 6


@dataclass
class Row:
    """One arm's aggregate for one metric."""

    dataset: str
    noise: str
    recommender: str
    arm: str
    metric: str
    values: dict[int, float]
    """seed -> validation-selected test value."""
    n: int
    mean: float
    std: float
    baseline: str | None = None
    """The arm compared against (None for the baseline itself, or when it is missing)."""
    rel_change: float | None = None
    """(mean / baseline mean - 1) * 100, in percent."""
    pairs: int = 0
    t_stat: float | None = None
    t_pvalue: float | None = None
    wilcoxon_pvalue: float | None = None
    note: str = ""
    noise_fractions: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["values"] = {str(k): v for k, v in self.values.items()}
        return {k: _jsonable(v) for k, v in out.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (nan for fewer than two values)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return math.nan, math.nan
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else math.nan


def relative_change(mean: float, baseline_mean: float) -> float | None:
    if not math.isfinite(mean) or not math.isfinite(baseline_mean) or baseline_mean == 0:
        return None
    return (mean / baseline_mean - 1.0) * 100.0


def paired_tests(arm: Sequence[float], base: Sequence[float]) -> tuple[float | None, float | None, float | None, str]:
    """(t statistic, t-test p, Wilcoxon p, note) for paired samples, two-sided."""
    from scipy import stats

    a, b = np.asarray(arm, dtype=np.float64), np.asarray(base, dtype=np.float64)
    n = a.size
    if n < 2:
        return None, None, None, f"{n} paired seed(s): no test (needs 2)"
    diff = a - b
    notes = []
    t_stat = t_p = None
    if np.allclose(diff, diff[0], rtol=0, atol=1e-12):
        notes.append("t-test undefined: the difference is the same for every seed")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = stats.ttest_rel(a, b)
        t_stat, t_p = float(result.statistic), float(result.pvalue)
    w_p = None
    if n < WILCOXON_MIN_PAIRS:
        notes.append(f"Wilcoxon not reported: with n = {n} < {WILCOXON_MIN_PAIRS} pairs its exact two-sided "
                     f"p-value is at least {2 / 2 ** n:.3g}")
    elif np.all(diff == 0):
        notes.append("Wilcoxon undefined: all differences are zero")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w_p = float(stats.wilcoxon(a, b).pvalue)
    return t_stat, t_p, w_p, "; ".join(notes)


def summarize(cells: Sequence[Cell], results: Mapping[str, Mapping[str, Any]], metrics: Sequence[str],
              baseline: str) -> list[Row]:
    """One :class:`Row` per (group, metric), in the grid's order; cells without a result are
    left out (their seeds are missing from ``values``)."""
    groups: dict[tuple[str, str, str, str], dict[int, Mapping[str, float]]] = {}
    fractions: dict[tuple[str, str, str, str], dict[str, float]] = {}
    for cell in cells:
        groups.setdefault(cell.group, {})
        fractions[cell.group] = dict(cell.noise)
        if cell.id in results:
            groups[cell.group][cell.seed] = results[cell.id]["metrics"]["test"]
    rows = []
    for metric in metrics:
        by_group = {}
        for key, per_seed in groups.items():
            values = {seed: float(test.get(metric, math.nan)) for seed, test in sorted(per_seed.items())}
            mean, std = mean_std(list(values.values()))
            by_group[key] = Row(*key, metric=metric, values=values, n=len(values), mean=mean, std=std,
                                noise_fractions=fractions[key])
        for (dataset, noise, rec, arm), row in by_group.items():
            base = by_group.get((dataset, noise, rec, baseline))
            if arm == baseline:
                row.note = "baseline"
                continue
            if not baseline:
                row.note = "no baseline arm in this study"
                continue
            if base is None or base.n == 0:
                row.note = f"no baseline: arm {baseline!r} has no finished run here"
                continue
            row.baseline = baseline
            row.rel_change = relative_change(row.mean, base.mean)
            seeds = sorted(set(row.values) & set(base.values))
            row.pairs = len(seeds)
            row.t_stat, row.t_pvalue, row.wilcoxon_pvalue, row.note = paired_tests(
                [row.values[s] for s in seeds], [base.values[s] for s in seeds])
        rows.extend(by_group.values())
    return rows
