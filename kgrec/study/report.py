"""A study's report: Markdown, CSV and JSON tables plus PNG plots, built from stored results.

The report is a pure function of the grid, the cells' ``result.json`` files and their runs'
``per_user.npz`` (no clock, no training), so ``kgrec study FILE --report`` rebuilds exactly the
tables a finished run wrote. Only validation-selected test metrics are tabulated: each run's
``metrics.json`` "test". It opens with plain statements (floors not beaten, unconverged
arms, near-empty graphs), then per metric the arms beside the floors with across-seed and
user-paired tests (Holm-adjusted over each arm's comparisons), the floors' comparisons,
run cost and convergence, metrics by user training degree and item popularity, graph
health, and plots.
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
from kgrec.study.stats import (Comparison, PairedUsers, Records, Row, compare, group_comparisons,
                               summarize)
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
        "on (below that its exact two-sided p-value cannot be under 2/2^n ≥ 0.0625). These across-seed "
        "p-values are not corrected for multiple comparisons; the user-paired ones below are (Holm). "
        "Floors (`floor:*`) are fitted in closed form and deterministic: on clean data one run serves "
        "every seed.", "",
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


def _ci(users: PairedUsers | None) -> str:
    if users is None:
        return "–"
    if users.ci_low is None or users.ci_high is None:
        return f"{users.mean_diff:+.4f}"
    return f"{users.mean_diff:+.4f} [{users.ci_low:+.4f}, {users.ci_high:+.4f}]"


def _metric_table(rows: Sequence[Row], baseline: str,
                  against: Mapping[tuple[str, str, str, str], Comparison] | None = None,
                  flags: Mapping[tuple[str, str, str, str], str] | None = None) -> list[str]:
    against = against or {}
    flags = flags or {}
    keys = _varying(rows) + ["arm"]
    users = any(c.users is not None for c in against.values())
    head = keys + ["n", "mean ± std", f"Δ vs {baseline}" if baseline else "Δ", "p (t)", "p (W)"]
    if users:
        head += ["Δ per user [95 % CI]", "d_z", "p users (t)", "p users (W)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        key = (r.dataset, r.noise, r.recommender, r.arm)
        comp = against.get(key)
        if r.arm == baseline:
            delta, t_p, w_p = "baseline", "", ""
        elif r.baseline is None:
            delta, t_p, w_p = "–", "–", "–"
        else:
            delta = "–" if r.rel_change is None else f"{r.rel_change:+.1f} %"
            t_p = _p(r.t_pvalue) if r.t_pvalue is not None else ("n/a" if r.pairs >= 2 else "–")
            w_p = _p(r.wilcoxon_pvalue) if r.wilcoxon_pvalue is not None else "n<6" if r.pairs < 6 else "n/a"
        spread = f"{_num(r.mean)} ± {_num(r.std)}" if r.n > 1 else _num(r.mean)
        label = str(r.arm) + (f" {flags[key]}" if key in flags else "")
        cells = [str(getattr(r, k)) for k in keys[:-1]] + [label, str(r.n), spread, delta, t_p, w_p]
        if users:
            if comp is None or comp.users is None or r.arm == baseline:
                cells += ["", "", "", ""] if r.arm == baseline else ["–", "–", "–", "–"]
            else:
                dz = "–" if comp.users.dz is None else f"{comp.users.dz:+.3f}"
                cells += [_ci(comp.users), dz, _p(comp.holm_users_t), _p(comp.holm_users_w)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _floor_table(comparisons: Sequence[Comparison], keys: list[str]) -> list[str]:
    head = keys + ["arm", "floor", "arm mean", "floor mean", "Δ", "Δ per user [95 % CI]",
                   "p users (t, Holm)", "p seeds (t, Holm)", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for c in comparisons:
        if c.kind != "floor":
            continue
        delta = "–" if c.rel_change is None else f"{c.rel_change:+.1f} %"
        verdict = c.verdict()
        verdict = f"**{verdict}**" if "NOT" in verdict else verdict
        lines.append("| " + " | ".join([str(getattr(c, k)) for k in keys] + [
            c.arm, c.other, _num(c.mean_arm), _num(c.mean_other), delta, _ci(c.users),
            _p(c.holm_users_t) if c.users else "–", _p(c.holm_seeds_t), verdict]) + " |")
    return lines


def _per_seed_table(comparisons: Sequence[Comparison], keys: list[str]) -> list[str]:
    seeds = sorted({s for c in comparisons for s, _ in c.per_seed})
    if not seeds:
        return []
    head = keys + ["arm", "vs"] + [f"seed {s}: Δ, p (t)" for s in seeds]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for c in comparisons:
        if not c.per_seed:
            continue
        found = dict(c.per_seed)
        cells = [f"{found[s].mean_diff:+.4f}, {_p(found[s].t_pvalue)}" if s in found else "–" for s in seeds]
        lines.append("| " + " | ".join([str(getattr(c, k)) for k in keys] + [c.arm, c.other] + cells) + " |")
    return lines


def _cost_table(cells: Sequence[Cell], results: Mapping[str, Any], keys: list[str]) -> list[str]:
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for cell in cells:
        runs = groups.setdefault(cell.group, [])
        if cell.id in results:
            runs.append(results[cell.id]["metrics"])
    index = {"dataset": 0, "noise": 1, "recommender": 2}
    head = keys + ["arm", "runs", "epochs run", "best epoch", "s / epoch", "stopped early", "converged"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for key, runs in groups.items():
        labels = [key[index[k]] for k in keys] + [key[3]]
        if not runs:
            lines.append("| " + " | ".join(labels) + " | 0 | – | – | – | – | – |")
            continue
        mean = lambda name: float(np.mean([m[name] for m in runs]))  # noqa: E731
        known = [m for m in runs if "converged" in m]
        unconverged = sum(not m["converged"] for m in known)
        converged = ("–" if not known else f"{len(known) - unconverged} of {len(known)}"
                     + (" ⚠" if unconverged else ""))
        lines.append("| " + " | ".join(labels) + f" | {len(runs)} | {mean('epochs_run'):.1f} | "
                     f"{mean('best_epoch'):.1f} | {mean('mean_epoch_seconds'):.2f} | "
                     f"{sum(bool(m['stopped_early']) for m in runs)} of {len(runs)} | {converged} |")
    return lines


def unconverged(cells: Sequence[Cell], results: Mapping[str, Any]) -> dict[tuple[str, str, str, str], tuple[int, int]]:
    """group -> (unconverged runs, runs with a convergence record), for groups with any."""
    out: dict[tuple[str, str, str, str], list[int]] = {}
    for cell in cells:
        metrics = results.get(cell.id, {}).get("metrics", {})
        if "converged" in metrics:
            entry = out.setdefault(cell.group, [0, 0])
            entry[0] += not metrics["converged"]
            entry[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items() if v[0]}


def _group_tables(cells: Sequence[Cell], results: Mapping[str, Any], rows: Sequence[Row], metric: str,
                  baseline: str, records: Records, keys: list[str], with_items: bool = True) -> list[str]:
    """Mean over seeds of each user-degree group's metric, Δ and user-paired p vs the baseline;
    then the item-popularity groups (recall on the group's items, share of the top K)."""
    order = list(dict.fromkeys(cell.group for cell in cells))
    per_group: dict[tuple, list[Mapping[str, Any]]] = {}
    for cell in cells:
        groups = results.get(cell.id, {}).get("metrics", {}).get("groups")
        if groups:
            per_group.setdefault(cell.group, []).append(groups)
    if not per_group:
        return []
    index = {"dataset": 0, "noise": 1, "recommender": 2}
    tests = group_comparisons(cells, results, records, metric, baseline) if baseline else {}
    lines: list[str] = []

    def mean_of(found: list[Mapping[str, Any]], kind: str, name: str, g: int) -> float | None:
        values = [f[kind]["metrics"].get(name, [])[g] for f in found
                  if kind in f and g < len(f[kind]["metrics"].get(name, []))]
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None

    first = next(iter(per_group.values()))[0]
    users = first.get("user_degree")
    if users:
        labels = users["labels"]
        head = keys + ["arm"] + [f"{label} ({size} users)" for label, size in zip(labels, users["sizes"])]
        lines += [f"### {metric} by user training degree", "",
                  "Mean over seeds of each group's test metric; in brackets the change against the "
                  f"baseline `{baseline}` and the user-paired t-test (seeds pooled) within the group." if baseline
                  else "Mean over seeds of each group's test metric.", "",
                  "| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        for key in order:
            found = per_group.get(key)
            if not found:
                continue
            base = per_group.get((key[0], key[1], key[2], baseline))
            cells_out = []
            for g in range(len(labels)):
                value = mean_of(found, "user_degree", metric, g)
                text = _num(value)
                base_value = mean_of(base, "user_degree", metric, g) if base and key[3] != baseline else None
                if value is not None and base_value:
                    test = tests.get(key)
                    p = test[g].t_pvalue if test and g < len(test) and test[g] is not None else None
                    text += (f" ({(value / base_value - 1) * 100:+.1f} %, p {_p(p)})" if test
                             else f" ({(value / base_value - 1) * 100:+.1f} %)")
                cells_out.append(text)
            lines.append("| " + " | ".join([key[index[k]] for k in keys] + [key[3]] + cells_out) + " |")
        lines.append("")
    items = first.get("item_popularity")
    k = metric.split("@")[1]
    if items and f"recall@{k}" in items["metrics"] and with_items:
        labels = items["labels"]
        head = keys + ["arm"] + [f"{label}: recall@{k} / share@{k}" for label in labels]
        lines += [f"### recall@{k} by item popularity", "",
                  f"Recall on each item group's held-out items, and the share of the top {k} drawn "
                  "from the group (mean over seeds). Item groups rank items by training popularity.", "",
                  "| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        for key in order:
            found = per_group.get(key)
            if not found:
                continue
            cells_out = [f"{_num(mean_of(found, 'item_popularity', f'recall@{k}', g))} / "
                         f"{_num(mean_of(found, 'item_popularity', f'share@{k}', g), 3)}" for g in range(len(labels))]
            lines.append("| " + " | ".join([key[index[k2]] for k2 in keys] + [key[3]] + cells_out) + " |")
        lines.append("")
    return lines


def _health_table(cells: Sequence[Cell], results: Mapping[str, Any], keys: list[str]) -> list[str]:
    """Graph-health numbers (``graph_*``, ``health_*``): mean over seeds of the value at the
    selected epoch, and the smallest value over all epochs and seeds; near-empty warnings."""
    columns: list[str] = []
    per_group: dict[tuple, list[Mapping[str, Any]]] = {}
    for cell in cells:
        health = results.get(cell.id, {}).get("metrics", {}).get("health")
        if health:
            per_group.setdefault(cell.group, []).append(health)
            columns += [c for c in health.get("columns", {}) if c not in columns]
    if not per_group:
        return []
    index = {"dataset": 0, "noise": 1, "recommender": 2}
    head = keys + ["arm"] + [f"{c} (selected / min)" for c in columns] + ["near-empty warnings"]
    lines = ["## Graph health", "",
             "What the augmenters produced per epoch (`graph_<g>_edges`: edges of a produced graph; "
             "`graph_<g>_kept`: the share of the original graph's edges it keeps; `health_*`: other "
             "numbers): mean over seeds at the selected epoch / smallest over epochs and seeds.", "",
             "| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for key, found in per_group.items():
        out = []
        for column in columns:
            entries = [h["columns"][column] for h in found if column in h.get("columns", {})]
            best = [e["best"] for e in entries if e.get("best") is not None]
            out.append(f"{_num(float(np.mean(best)) if best else None, 4)} / "
                       f"{_num(min(e['min'] for e in entries) if entries else None, 4)}")
        warned = sum(len(h.get("warnings", [])) for h in found)
        lines.append("| " + " | ".join([key[index[k]] for k in keys] + [key[3]] + out
                                        + [f"{warned} ⚠" if warned else "0"]) + " |")
    return lines + [""]


def _statements(study: Study, cells: Sequence[Cell], results: Mapping[str, Any],
                comparisons: Sequence[Comparison]) -> list[str]:
    """The plain sentences the report opens with."""
    lines = []
    if not study.floors:
        lines.append("- **No floors**: this study ran no `pop` / `ease` floor (`floors = [\"pop\", "
                     "\"ease\"]`), so nothing here shows that its arms beat a popularity list.")
    else:
        metric = study.metrics[0]
        losing = [c for c in comparisons if c.kind == "floor" and c.metric == metric and c.beats is False]
        unsure = [c for c in comparisons if c.kind == "floor" and c.metric == metric and c.beats
                  and "not significantly" in c.verdict()]
        def where(c: Comparison) -> str:
            parts = ([c.dataset] if len(study.datasets) > 1 else []) + ([c.noise] if len(study.noise) > 1 else [])
            return f"`{c.arm}` + {c.recommender}" + (f" ({', '.join(parts)})" if parts else "")

        if losing:
            lines.append(f"- **Below a floor** on {metric}: " + "; ".join(
                f"{where(c)} does not beat `{c.other}` ({_num(c.mean_arm)} vs {_num(c.mean_other)})"
                for c in losing) + ".")
        if unsure:
            lines.append(f"- **Not shown to beat a floor** on {metric}: " + "; ".join(
                f"{where(c)} vs `{c.other}` (Holm p {_p(c.holm_users_t if c.users else c.holm_seeds_t)})"
                for c in unsure) + ".")
        if not losing and not unsure and any(c.kind == "floor" for c in comparisons):
            lines.append(f"- Every arm beats every floor on {metric}.")
    flagged = unconverged(cells, results)
    if flagged:
        def place(k: tuple[str, str, str, str]) -> str:
            parts = ([k[0]] if len(study.datasets) > 1 else []) + ([k[1]] if len(study.noise) > 1 else [])
            return f" ({', '.join(parts)})" if parts else ""

        lines.append("- **Unconverged**: " + "; ".join(
            f"`{k[3]}` + {k[2]}" + place(k)
            + f": {n} of {m} runs reached the epoch cap with the best validation epoch in the last "
            "patience window" for k, (n, m) in flagged.items())
            + (". Their numbers understate what the arm can do; train until converged "
               "(`until_converged`)." if study.until_converged is None else
               f" (safety cap {study.until_converged} epochs)."))
    warned = sorted({c.arm for c in cells if results.get(c.id, {}).get("metrics", {}).get("health", {}).get("warnings")})
    if warned:
        lines.append("- **Near-empty graphs**: " + ", ".join(f"`{a}`" for a in warned)
                     + " produced a graph keeping under 1 % of the original's edges (see Graph health).")
    return lines + ([""] if lines else [])


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
            entry.update({k: m[k] for k in ("stopped_by", "converged", "convergence", "groups", "health",
                                              "per_user") if k in m})
            entry["run_dir"] = f"cells/{cell.id}/{result.get('run_dir', 'run')}"
        out.append(entry)
    return out


def load_records(root: Path | None, cells: Sequence[Cell], results: Mapping[str, Any],
                 metrics: Sequence[str] = ()) -> dict[str, dict[str, np.ndarray]]:
    """cell id -> the per-user arrays of its run (cells whose run saved them): the user ids,
    the user groups and ``metrics`` only, so a large study's records stay small."""
    from kgrec.experiment.per_user import load_per_user

    if root is None:
        return {}
    keep = {"user", "user_group", *metrics}
    out = {}
    for cell in cells:
        result = results.get(cell.id)
        if result is None or cell.id in out:
            continue
        found = load_per_user(root / "cells" / cell.id / result.get("run_dir", "run"))
        if found is not None:
            out[cell.id] = {k: v for k, v in found.items() if k in keep}
    return out


def write_report(study: Study, cells: Sequence[Cell], results: Mapping[str, Any], out_dir: Path,
                 with_plots: bool = True, root: Path | None = None) -> dict[str, Path]:
    """Write results.md / results.csv / results.json (and plots) into ``out_dir``; ``root``
    (the study directory) gives the runs' per-user records for the user-paired tests."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = summarize(cells, results, study.metrics, study.baseline)
    records = load_records(root, cells, results, study.metrics)
    comparisons = compare(cells, results, records, study.metrics, study.baseline)
    against = {(c.dataset, c.noise, c.recommender, c.arm, c.metric): c for c in comparisons if c.kind == "baseline"}
    flags = {k: "⚠ unconverged" for k in unconverged(cells, results)}
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
            for drawn in plots.group_plots(cells, results, metric, out_dir,
                                           [out_dir / name for _, name in images]):
                images.append((drawn.stem.replace("_", " "), drawn.name))
    lines = _header(study, cells, results)
    lines += _statements(study, cells, results, comparisons)
    if study.tune is not None and root is not None:
        from kgrec.study.tuning import describe as describe_tuning

        lines += describe_tuning(study, root)
    fixed = [k for k in ("dataset", "noise", "recommender") if k not in _varying(rows)]
    if fixed and rows:
        lines += ["In every table: " + ", ".join(f"{k} = {getattr(rows[0], k)}" for k in fixed) + ".", ""]
    keys = _varying(rows)
    if records:
        lines += ["User-paired columns: the per-user difference (arm minus baseline) of each user's "
                  "test metric averaged over the seeds both ran, its mean with a 95 % t interval, Cohen's "
                  "d_z (mean over standard deviation of the differences), the paired t-test "
                  "(`scipy.stats.ttest_rel`) and the Wilcoxon signed-rank test (`scipy.stats.wilcoxon`, "
                  "zero differences dropped) over users; their p-values are Holm-adjusted over each "
                  "arm's comparisons on the metric (the baseline and every floor). p (t) / p (W) are the "
                  "across-seed tests, unadjusted.", ""]
    for metric in study.metrics:
        lines += [f"## {metric}", ""] + _metric_table(
            [r for r in rows if r.metric == metric], study.baseline,
            {k[:4]: c for k, c in against.items() if k[4] == metric}, flags) + [""]
    if study.floors:
        lines += ["## Floors", "",
                  "Every arm against every floor (`pop`: training popularity; `ease`: Steck 2019), "
                  "per metric; p-values Holm-adjusted over the arm's comparisons (baseline and floors).", ""]
        for metric in study.metrics:
            lines += [f"### {metric}", ""] + _floor_table(
                [c for c in comparisons if c.metric == metric], keys) + [""]
    seeded = [c for c in comparisons if c.per_seed and c.metric == study.metrics[0]]
    if seeded:
        lines += [f"## User-paired tests per seed ({study.metrics[0]})", "",
                  "Per seed: the mean per-user difference and the paired t-test over users (unadjusted).", ""]
        lines += _per_seed_table(seeded, keys) + [""]
    lines += ["## Run cost and convergence (means over finished seeds)", "",
              "converged: runs that stopped by early stopping (or were fitted in closed form), or whose "
              "best validation epoch came before the last patience window; ⚠ marks arms with runs "
              "that reached the epoch cap while still improving.", ""]
    lines += _cost_table(cells, results, keys) + [""]
    group_lines = []
    seen_k: set[str] = set()
    for metric in study.metrics:
        k = metric.split("@")[1]
        group_lines += _group_tables(cells, results, rows, metric, study.baseline, records, keys,
                                     with_items=k not in seen_k)
        seen_k.add(k)
    if group_lines:
        lines += ["## By user and item group", ""] + group_lines
    lines += _health_table(cells, results, keys)
    lines += ["## Plots", ""]
    lines += [f"![{alt}]({name})" for alt, name in images] or [f"No plots: {why_not}."]
    written["md"] = out_dir / "results.md"
    atomic_write_text(written["md"], "\n".join(lines) + "\n")
    written["csv"] = out_dir / "results.csv"
    atomic_write_text(written["csv"], _csv(rows))
    payload = {"study": study.name, "description": study.description, "selected_by": _selection(cells),
               "tabulated": "validation-selected test metrics (metrics.json 'test')",
               "baseline": study.baseline, "metrics": study.metrics, "seeds": study.seeds,
               "floors": [f.label for f in study.floors], "until_converged": study.until_converged,
               "spec": study.raw, "rows": [r.to_dict() for r in rows],
               "comparisons": [c.to_dict() for c in comparisons], "cells": _cells_json(cells, results)}
    written["json"] = out_dir / "results.json"
    atomic_write_text(written["json"], json.dumps(payload, indent=2, default=str, allow_nan=False) + "\n")
    for _, name in images:
        written[name] = out_dir / name
    return written
