"""Plots of a study (PNG, matplotlib's Agg canvas; imported only when plotting).

- ``bars_<metric>.png``: mean ± std over seeds per cell group, one bar per arm.
- ``noise_<metric>.png`` (robustness studies, more than one noise setting): the metric
  against the noise fraction, one line per (recommender, arm), one panel per dataset.
- ``users_<metric>.png`` / ``items_recall_at_K.png``: the metric by user training-degree group
  and recall by item-popularity group, one line per arm (floors dashed).

No pyplot: figures are built on :class:`matplotlib.figure.Figure` with an explicit Agg
canvas, so plotting never touches a GUI backend or global state.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from kgrec.study.stats import Row


def matplotlib_missing() -> str | None:
    """Why plots cannot be drawn here, or None."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "matplotlib is not installed (pip install 'kgrec[plots]')"
    return None


def slug(metric: str) -> str:
    return metric.replace("@", "_at_")


def _figure(width: float, height: float, panels: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, panels, i + 1) for i in range(panels)]


def _ordered(values) -> list:
    return list(dict.fromkeys(values))


def _err(std: float) -> float:
    return std if math.isfinite(std) else 0.0


def bars(rows: Sequence[Row], metric: str, path: Path) -> Path:
    """Grouped bars with standard-deviation error bars, arms side by side."""
    rows = [r for r in rows if r.metric == metric]
    keys = _ordered((r.dataset, r.noise, r.recommender) for r in rows)
    varying = [i for i in range(3) if len({k[i] for k in keys}) > 1] or [2]
    arms = _ordered(r.arm for r in rows)
    lookup = {(r.dataset, r.noise, r.recommender, r.arm): r for r in rows}
    fig, (ax,) = _figure(min(20.0, max(6.0, 1.0 + 0.32 * len(keys) * len(arms))), 4.2)
    width = 0.8 / max(len(arms), 1)
    for j, arm in enumerate(arms):
        xs, ys, es = [], [], []
        for i, key in enumerate(keys):
            row = lookup.get((*key, arm))
            if row is not None and row.n > 0:
                xs.append(i - 0.4 + width * (j + 0.5))
                ys.append(row.mean)
                es.append(_err(row.std))
        ax.bar(xs, ys, width=width * 0.95, yerr=es, capsize=3, label=arm, color=f"C{j % 10}")
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([" | ".join(k[i] for i in varying) for k in keys], rotation=20, ha="right")
    ax.set_ylabel(f"test {metric} (mean ± std over seeds)")
    ax.set_title(f"{metric}: validation-selected test metric per arm")
    ax.legend(fontsize=8, ncol=min(len(arms), 4))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _noise_axis(rows: Sequence[Row]) -> tuple[dict[str, float], str, list[str] | None]:
    """x position per noise label, the axis label, and tick labels when x is categorical."""
    labels = _ordered(r.noise for r in rows)
    targets = {t for r in rows for t in r.noise_fractions}
    if len(targets) == 1 and all(len(r.noise_fractions) <= 1 for r in rows):
        target = targets.pop()
        xs = {r.noise: r.noise_fractions.get(target, 0.0) for r in rows}
        return xs, f"{target} noise (fraction of edges replaced)", None
    return {label: float(i) for i, label in enumerate(labels)}, "noise setting", labels


def noise_curves(rows: Sequence[Row], metric: str, path: Path) -> Path | None:
    """Metric against noise, with std error bars; None when there is one noise setting."""
    rows = [r for r in rows if r.metric == metric and r.n > 0]
    if len({r.noise for r in rows}) < 2:
        return None
    xs, xlabel, ticks = _noise_axis(rows)
    datasets = _ordered(r.dataset for r in rows)
    several_recs = len({r.recommender for r in rows}) > 1
    fig, axes = _figure(min(18.0, 5.0 * len(datasets) + 1.0), 4.0, panels=len(datasets))
    lines = _ordered((r.recommender, r.arm) for r in rows)
    span = (max(xs.values()) - min(xs.values())) or 1.0
    dodge = 0.012 * span  # shift lines apart a little so their error bars do not overlap
    for ax, dataset in zip(axes, datasets):
        for j, (rec, arm) in enumerate(lines):
            shift = (j - (len(lines) - 1) / 2) * dodge
            points = sorted((xs[r.noise] + shift, r.mean, _err(r.std)) for r in rows
                            if r.dataset == dataset and r.recommender == rec and r.arm == arm)
            if not points:
                continue
            x, y, e = zip(*points)
            ax.errorbar(x, y, yerr=e, marker="o", capsize=3, color=f"C{j % 10}",
                        label=f"{arm} + {rec}" if several_recs else arm)
        if ticks is not None:
            ax.set_xticks(range(len(ticks)))
            ax.set_xticklabels(ticks, rotation=20, ha="right")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"test {metric}")
        ax.set_title(dataset)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{metric} under noise (mean ± std over seeds)")
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def run_groups(groups: dict, k: int, path: Path) -> Path:
    """One run's test metrics by user training degree and by item popularity (``kgrec run
    --plots``): recall@K and ndcg@K per user group; recall@K and share@K per item group."""
    panels = [kind for kind in ("user_degree", "item_popularity") if groups.get(kind)]
    fig, axes = _figure(5.5 * max(len(panels), 1), 4.0, panels=max(len(panels), 1))
    for ax, kind in zip(axes, panels):
        entry = groups[kind]
        names = [f"recall@{k}", f"ndcg@{k}"] if kind == "user_degree" else [f"recall@{k}", f"share@{k}"]
        xs = range(len(entry["labels"]))
        width = 0.8 / len(names)
        for j, name in enumerate(names):
            values = [v if v is not None else 0.0 for v in entry["metrics"].get(name, [])]
            ax.bar([x - 0.4 + width * (j + 0.5) for x in xs][:len(values)], values, width=width * 0.95,
                   label=name, color=f"C{j}")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(entry["labels"], rotation=20, ha="right", fontsize=8)
        ax.set_title("users by training degree" if kind == "user_degree" else "items by training popularity")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def group_plots(cells, results, metric: str, out_dir: Path, drawn_before: Sequence[Path] = ()) -> list[Path]:
    """A study's ``users_<metric>.png`` (the metric per user-degree group, one line per arm and
    recommender, one panel per dataset and noise setting; mean over seeds) and
    ``items_<metric>.png`` (recall@K per item-popularity group)."""
    import numpy as np

    found: dict[tuple, list[dict]] = {}
    for cell in cells:
        groups = results.get(cell.id, {}).get("metrics", {}).get("groups")
        if groups:
            found.setdefault(cell.group, []).append(groups)
    if not found:
        return []
    k = metric.split("@")[1]
    drawn = []
    for kind, name, stem in (("user_degree", metric, "users"), ("item_popularity", f"recall@{k}", "items")):
        if (out_dir / f"{stem}_{slug(name)}.png") in drawn_before:
            continue
        panels = _ordered((key[0], key[1]) for key, runs in found.items() if runs[0].get(kind))
        if not panels:
            continue
        fig, axes = _figure(min(18.0, 5.5 * len(panels) + 0.5), 4.0, panels=len(panels))
        several_recs = len({key[2] for key in found}) > 1
        for ax, panel in zip(axes, panels):
            labels: list[str] = []
            lines = [(key, runs) for key, runs in found.items() if (key[0], key[1]) == panel and runs[0].get(kind)]
            for j, (key, runs) in enumerate(lines):
                labels = runs[0][kind]["labels"]
                series = []
                for g in range(len(labels)):
                    values = [r[kind]["metrics"].get(name, [None] * len(labels))[g] for r in runs]
                    values = [v for v in values if v is not None]
                    series.append(float(np.mean(values)) if values else math.nan)
                ax.plot(range(len(labels)), series, marker="o", color=f"C{j % 10}",
                        linestyle="--" if key[3].startswith("floor:") else "-",
                        label=f"{key[3]} + {key[2]}" if several_recs else key[3])
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
            ax.set_ylabel(f"test {name}")
            ax.set_title(" | ".join(p for p in panel if p and p != "clean") or panel[0])
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle(f"{name} by {'user training degree' if kind == 'user_degree' else 'item popularity'} "
                     "(mean over seeds)")
        fig.tight_layout()
        path = out_dir / f"{stem}_{slug(name)}.png"
        fig.savefig(path, format="png")
        drawn.append(path)
    return drawn
