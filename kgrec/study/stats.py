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
from typing import Any, Callable, Mapping, Sequence

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


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of a family of p-values (None entries are left out and
    stay None): the i-th smallest of m becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))``."""
    present = [(p, i) for i, p in enumerate(pvalues) if p is not None and math.isfinite(p)]
    out: list[float | None] = [None] * len(pvalues)
    m = len(present)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(present)):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


@dataclass
class PairedUsers:
    """A user-paired comparison of two arms on one metric (arm minus other)."""

    users: int
    mean_arm: float
    mean_other: float
    mean_diff: float
    """Mean over users of the per-user difference (absolute, in metric units)."""
    ci_low: float | None
    ci_high: float | None
    """95 % confidence interval of ``mean_diff`` (t distribution, users - 1 df)."""
    dz: float | None
    """Cohen's d_z: ``mean_diff`` over the standard deviation of the differences."""
    rel_change: float | None
    t_stat: float | None
    t_pvalue: float | None
    wilcoxon_pvalue: float | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


def user_paired(arm: np.ndarray, other: np.ndarray, confidence: float = 0.95) -> PairedUsers:
    """Paired t-test and Wilcoxon signed-rank test over users, with the mean difference, its
    confidence interval and Cohen's d_z. ``arm[i]`` and ``other[i]`` are one user's values.
    Wilcoxon drops users whose difference is zero (scipy's default ``zero_method``)."""
    from scipy import stats

    a, b = np.asarray(arm, dtype=np.float64), np.asarray(other, dtype=np.float64)
    n = int(a.size)
    diff = a - b
    mean_a, mean_b = (float(a.mean()), float(b.mean())) if n else (math.nan, math.nan)
    if n < 2:
        return PairedUsers(n, mean_a, mean_b, float(diff.mean()) if n else math.nan, None, None, None,
                           relative_change(mean_a, mean_b), None, None, None, f"{n} paired user(s): no test")
    mean = float(diff.mean())
    sd = float(diff.std(ddof=1))
    notes = []
    if np.allclose(diff, diff[0], rtol=0, atol=1e-12):
        notes.append("every user's difference is the same: no test")
        return PairedUsers(n, mean_a, mean_b, mean, mean, mean, None, relative_change(mean_a, mean_b),
                           None, None, None, "; ".join(notes))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = stats.ttest_rel(a, b)
        w_p = None
        if np.any(diff != 0):
            w_p = float(stats.wilcoxon(a, b).pvalue)
    return PairedUsers(n, mean_a, mean_b, mean, mean - half, mean + half, mean / sd,
                       relative_change(mean_a, mean_b), float(t.statistic), float(t.pvalue), w_p,
                       "; ".join(notes))


def align_users(first: Mapping[str, np.ndarray], second: Mapping[str, np.ndarray],
                metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The users both per-user records hold (internal ids) and their values of ``metric``."""
    common, i, j = np.intersect1d(first["user"], second["user"], assume_unique=True, return_indices=True)
    return common, np.asarray(first[metric])[i], np.asarray(second[metric])[j]


def pooled_users(arm: Mapping[int, Mapping[str, np.ndarray]], other: Mapping[int, Mapping[str, np.ndarray]],
                 metric: str, mask: Callable[[Mapping[str, np.ndarray]], np.ndarray] | None = None
                 ) -> tuple[PairedUsers | None, list[tuple[int, PairedUsers]]]:
    """User-paired tests of ``arm`` against ``other`` (seed -> per-user arrays) on ``metric``:
    seeds pooled (each user's mean over the seeds both ran, then paired over users) and per
    seed. ``mask(record)`` keeps a subset of a record's users (a user group)."""
    seeds = sorted(set(arm) & set(other))
    if not seeds:
        return None, []
    per_seed = []
    users_seen: np.ndarray | None = None
    stack_a, stack_b = [], []
    for seed in seeds:
        a_rec, b_rec = arm[seed], other[seed]
        if mask is not None:
            keep = mask(a_rec)
            a_rec = {"user": a_rec["user"][keep], metric: np.asarray(a_rec[metric])[keep]}
        users, a, b = align_users(a_rec, b_rec, metric)
        per_seed.append((seed, user_paired(a, b)))
        if users_seen is None:
            users_seen = users
        stack_a.append((users, a))
        stack_b.append((users, b))
    common = users_seen
    for users, _ in stack_a:
        common = np.intersect1d(common, users, assume_unique=True)
    mean_a = np.zeros(common.shape[0])
    mean_b = np.zeros(common.shape[0])
    for (users, a), (_, b) in zip(stack_a, stack_b):
        index = np.searchsorted(users, common)
        mean_a += a[index]
        mean_b += b[index]
    return user_paired(mean_a / len(seeds), mean_b / len(seeds)), per_seed


@dataclass
class Comparison:
    """One arm against one other arm (the baseline, or a floor) on one metric."""

    dataset: str
    noise: str
    recommender: str
    arm: str
    other: str
    kind: str
    """``baseline`` or ``floor``."""
    metric: str
    mean_arm: float
    mean_other: float
    rel_change: float | None
    seeds: int
    """Seeds both ran (the across-seed test pairs these)."""
    seeds_t_pvalue: float | None
    users: PairedUsers | None
    """User-paired, seeds pooled (None without per-user records)."""
    per_seed: list[tuple[int, PairedUsers]] = field(default_factory=list)
    family: int = 1
    """Comparisons of this arm on this metric (baseline and floors): Holm's m."""
    holm_seeds_t: float | None = None
    holm_users_t: float | None = None
    holm_users_w: float | None = None

    @property
    def beats(self) -> bool | None:
        """Whether the arm's mean is above the other's (None when either is missing)."""
        if not (math.isfinite(self.mean_arm) and math.isfinite(self.mean_other)):
            return None
        return self.mean_arm > self.mean_other

    def verdict(self, alpha: float = 0.05) -> str:
        """Plain words: beats / does not beat / not shown to beat."""
        if self.beats is None:
            return "no result"
        p = self.holm_users_t if self.users is not None else self.holm_seeds_t
        if not self.beats:
            return f"does NOT beat {self.other}"
        if p is None or p >= alpha:
            return f"above {self.other}, not significantly (p = {_fmt_p(p)})"
        return f"beats {self.other} (p = {_fmt_p(p)})"

    def to_dict(self) -> dict[str, Any]:
        out = {k: _jsonable(v) for k, v in asdict(self).items() if k not in ("users", "per_seed")}
        out["users"] = self.users.to_dict() if self.users is not None else None
        out["per_seed"] = [{"seed": s, **p.to_dict()} for s, p in self.per_seed]
        out["verdict"] = self.verdict()
        return out


def _fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "n/a"
    return f"{p:.2e}" if p < 1e-3 else f"{p:.3f}"


Records = Mapping[str, Mapping[str, np.ndarray]]
"""cell id -> the cell's per-user arrays (``per_user.npz``)."""


def compare(cells: Sequence[Cell], results: Mapping[str, Mapping[str, Any]], records: Records,
            metrics: Sequence[str], baseline: str) -> list[Comparison]:
    """Every non-floor arm against the baseline (when it is not the baseline) and against
    every floor, per dataset, noise and recommender; user-paired tests where both sides have
    per-user records; Holm's adjustment over each arm's comparisons on a metric."""
    groups: dict[tuple[str, str, str, str], dict[int, Cell]] = {}
    floor_labels: list[str] = []
    for cell in cells:
        groups.setdefault(cell.group, {})[cell.seed] = cell
        if cell.floor and cell.arm not in floor_labels:
            floor_labels.append(cell.arm)
    out: list[Comparison] = []
    for metric in metrics:
        for (dataset, noise, rec, arm), by_seed in groups.items():
            if by_seed and next(iter(by_seed.values())).floor:
                continue
            others = ([(baseline, "baseline")] if baseline and arm != baseline else []) + \
                     [(f, "floor") for f in floor_labels]
            family = []
            for other, kind in others:
                other_cells = groups.get((dataset, noise, rec, other))
                if not other_cells:
                    continue
                family.append(_compare_pair(dataset, noise, rec, arm, other, kind, metric,
                                            by_seed, other_cells, results, records))
            for attr, target in (("seeds_t_pvalue", "holm_seeds_t"),):
                for c, adj in zip(family, holm([getattr(c, attr) for c in family])):
                    setattr(c, target, adj)
            users_t = holm([c.users.t_pvalue if c.users else None for c in family])
            users_w = holm([c.users.wilcoxon_pvalue if c.users else None for c in family])
            for c, t_adj, w_adj in zip(family, users_t, users_w):
                c.holm_users_t, c.holm_users_w, c.family = t_adj, w_adj, len(family)
            out.extend(family)
    return out


def _compare_pair(dataset: str, noise: str, rec: str, arm: str, other: str, kind: str, metric: str,
                  arm_cells: Mapping[int, Cell], other_cells: Mapping[int, Cell],
                  results: Mapping[str, Mapping[str, Any]], records: Records) -> Comparison:
    def values(cells: Mapping[int, Cell]) -> dict[int, float]:
        return {s: float(results[c.id]["metrics"]["test"].get(metric, math.nan))
                for s, c in sorted(cells.items()) if c.id in results}

    a, b = values(arm_cells), values(other_cells)
    seeds = sorted(set(a) & set(b))
    mean_a, _ = mean_std(list(a.values()))
    mean_b, _ = mean_std(list(b.values()))
    _, t_p, _, _ = paired_tests([a[s] for s in seeds], [b[s] for s in seeds]) if len(seeds) >= 2 else (None,) * 4
    ra = {s: records[c.id] for s, c in arm_cells.items() if c.id in records and c.id in results}
    rb = {s: records[c.id] for s, c in other_cells.items() if c.id in records and c.id in results}
    users, per_seed = (pooled_users(ra, rb, metric) if ra and rb and all(metric in r for r in ra.values())
                       else (None, []))
    return Comparison(dataset, noise, rec, arm, other, kind, metric, mean_a, mean_b,
                      relative_change(mean_a, mean_b), len(seeds), t_p, users, per_seed)


def group_comparisons(cells: Sequence[Cell], results: Mapping[str, Mapping[str, Any]], records: Records,
                      metric: str, baseline: str) -> dict[tuple[str, str, str, str], list[PairedUsers | None]]:
    """Per arm (not the baseline, not floors) and user-degree group: the user-paired test (seeds
    pooled) against the baseline within the group; groups as each record's ``user_group``."""
    groups: dict[tuple[str, str, str, str], dict[int, Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.group, {})[cell.seed] = cell
    out: dict[tuple[str, str, str, str], list[PairedUsers | None]] = {}
    for (dataset, noise, rec, arm), by_seed in groups.items():
        base = groups.get((dataset, noise, rec, baseline))
        if arm == baseline or not base or any(c.floor for c in by_seed.values()):
            continue
        ra = {s: records[c.id] for s, c in by_seed.items() if c.id in records}
        rb = {s: records[c.id] for s, c in base.items() if c.id in records}
        if not ra or not rb or not all("user_group" in r and metric in r for r in ra.values()):
            continue
        count = int(max(int(r["user_group"].max()) for r in ra.values())) + 1
        tests = []
        for g in range(count):
            paired, _ = pooled_users(ra, rb, metric, mask=lambda r, g=g: r["user_group"] == g)
            tests.append(paired)
        out[(dataset, noise, rec, arm)] = tests
    return out
