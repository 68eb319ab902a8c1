"""``kgrec compare RUN_DIR...``: finished runs side by side (kgrec/study/compare.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kgrec.cli.main import cli


@cli.command("compare")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--metric", "metrics", multiple=True, metavar="NAME@K",
              help="Metric of the curves and the user-paired tests (repeatable; default: the "
                   "first run's train.select_metric).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default="compare.png",
              show_default=True, help="Where to draw the validation curves (PNG).")
@click.option("--no-plot", is_flag=True, help="Draw no plot.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def compare_command(run_dirs, metrics, plot_path, no_plot, fmt) -> None:
    """Compare finished runs: differing settings, metrics, validation curves, user-paired tests."""
    from kgrec.study.compare import (differing_settings, format_report, metric_names, paired_tests,
                                     plot_curves, read_runs, to_json)

    if len(run_dirs) < 2:
        raise click.UsageError("give at least two run directories to compare")
    records = read_runs(run_dirs)
    chosen = list(metrics) or [records[0].select_metric]
    names = metric_names(records)
    unknown = [m for m in chosen if m not in names]
    if unknown:
        raise click.UsageError(f"--metric {unknown[0]} is not reported by every run "
                               f"(they share: {', '.join(names) or 'none'})")
    settings = differing_settings(records)
    paired = paired_tests(records, chosen)
    plot = None
    note = ""
    if not no_plot:
        from kgrec.study.plots import matplotlib_missing

        note = matplotlib_missing() or ""
        if not note:
            plot = plot_curves(records, chosen[0], Path(plot_path))
            note = "" if plot is not None else f"no run logged valid_{chosen[0]}"
    if fmt == "json":
        click.echo(json.dumps(to_json(records, settings, names, paired, plot), indent=2))
        return
    click.echo(format_report(records, settings, names, paired))
    if plot is not None:
        click.echo(f"\nvalidation curves: {plot}")
    elif note:
        click.echo(f"\nno plot: {note}")
