"""``kgrec study``: run a grid of runs resumably and report mean ± std and paired tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kgrec.cli.main import cli
from kgrec.config import parse_value
from kgrec.errors import ConfigError, KgrecError


def _overrides(name, datasets, recommenders, augmenters, variants, seeds, noise, noise_seed, baseline,
               metrics, floors=(), until_converged=None, tune_trials=None, tune_epochs=None) -> dict[str, Any]:
    """Command-line grid options as study keys; each replaces the file's key of that name."""
    out: dict[str, Any] = {}
    if name:
        out["name"] = name
    if datasets:
        out["datasets"] = list(datasets)
    if recommenders:
        out["recommenders"] = list(recommenders)
    if augmenters or variants:
        table: dict[str, Any] = {a: {} for a in augmenters}
        for text in variants:
            label, *settings = text.split()
            aug, sep, variant = label.partition(":")
            if not sep or not aug or not variant:
                raise ConfigError(f"--variant expects 'AUGMENTER:NAME KEY=VALUE ...'; got {text!r}")
            table.setdefault(aug, {}).setdefault("variants", {})[variant] = settings
        out["augmenters"] = table
    if seeds:
        value = parse_value(seeds if "," not in seeds else f"[{seeds}]")
        out["seeds"] = value
    if noise:
        levels: dict[str, Any] = {}
        for text in noise:
            target, sep, fractions = text.partition("=")
            if not sep:
                raise ConfigError(f"--noise expects TARGET=F1,F2,...; got {text!r}")
            levels[target.strip()] = parse_value(f"[{fractions}]")
        out["noise"] = levels
    if noise_seed is not None:
        out["noise_seed"] = noise_seed
    if baseline:
        out["baseline"] = baseline
    if metrics:
        out["metrics"] = list(metrics)
    if floors:
        out["floors"] = list(floors)
    if until_converged is not None:
        out["until_converged"] = until_converged
    if tune_trials is not None:
        out["tune"] = {"trials": tune_trials, **({"epochs": tune_epochs} if tune_epochs else {})}
    elif tune_epochs is not None:
        raise ConfigError("--tune-epochs needs --tune-trials")
    return out


@cli.command("study")
@click.argument("file", required=False, type=click.Path(dir_okay=False, exists=True))
@click.option("--report", "report_only", is_flag=True,
              help="Rebuild the report from stored results; train nothing.")
@click.option("--dry-run", is_flag=True, help="List the cells and which are finished; train nothing.")
@click.option("--out", type=click.Path(file_okay=False), help="Study directory (default: studies/<name>).")
@click.option("--report-dir", type=click.Path(file_okay=False), help="Where the report goes (default: <out>/report).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Shared setting for every cell, laid over the file's [base], e.g. train.epochs=5.")
@click.option("--name", help="Study name (default: the file's stem).")
@click.option("--dataset", "-d", "datasets", multiple=True, help="Dataset spec (repeatable).")
@click.option("--recommender", "-r", "recommenders", multiple=True, help="Recommender (repeatable).")
@click.option("--augmenter", "-a", "augmenters", multiple=True, help="Augmenter without variants (repeatable).")
@click.option("--variant", "variants", multiple=True, metavar="'AUG:NAME KEY=VALUE ...'",
              help="An augmenter variant, e.g. 'diffkg:no-ckgc diffkg.ckgc=false' (repeatable).")
@click.option("--seeds", help="Seeds, comma-separated (1,2,3), or a count (3 means 1,2,3).")
@click.option("--noise", multiple=True, metavar="TARGET=F1,F2,...",
              help="Noise levels for interactions, kg or social, e.g. social=0,0.2,0.5 (repeatable).")
@click.option("--noise-seed", type=int, help="One noise seed for every cell (default: each cell's seed).")
@click.option("--baseline", help="Arm the others are compared with (default: none).")
@click.option("--metric", "metrics", multiple=True, help="Metric to tabulate (repeatable; default recall@20, ndcg@20).")
@click.option("--floor", "floors", multiple=True, help="A floor run beside the arms: pop or ease (repeatable).")
@click.option("--until-converged", type=click.IntRange(min=1), metavar="MAX_EPOCHS",
              help="Train every arm until early stopping, with this safety cap on epochs.")
@click.option("--tune-trials", type=click.IntRange(min=1), help="Tune every arm with this many trials first.")
@click.option("--tune-epochs", type=click.IntRange(min=1), help="Epochs per tuning trial (default: the cells').")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failed cell instead of going on.")
@click.option("--no-plots", is_flag=True, help="Write the tables only.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def study_command(file, report_only, dry_run, out, report_dir, assignments, name, datasets, recommenders,
                  augmenters, variants, seeds, noise, noise_seed, baseline, metrics, floors, until_converged,
                  tune_trials, tune_epochs, fail_fast, no_plots, quiet) -> None:
    """Run every cell of a study FILE (TOML; or a grid given by the options), skipping cells that
    already finished, then write mean ± std over seeds, relative change against the baseline
    and paired tests as Markdown, CSV, JSON and plots. See docs/studies.md."""
    from kgrec.config import parse_overrides
    from kgrec.study import expand, load_results, load_study, run_study, write_report
    from kgrec.study.runner import cell_dir, describe, unique

    overrides = _overrides(name, datasets, recommenders, augmenters, variants, seeds, noise, noise_seed,
                           baseline, metrics, floors, until_converged, tune_trials, tune_epochs)
    if file is None and not overrides:
        raise click.UsageError("give a study FILE, or a grid with --dataset/--recommender/--augmenter/--seeds")
    study = load_study(file, overrides, parse_overrides(list(assignments)))
    cells = expand(study)  # every setting checked before anything trains (or tunes)
    root = Path(out or study.out or Path("studies") / study.name)
    target = Path(report_dir) if report_dir else root / "report"
    if study.tune is not None:
        from kgrec.study.tuning import load_tuned, run_tuning

        tuned, missing = load_tuned(study, root)
        if missing and (dry_run or report_only):
            for job in missing:
                click.echo(f"tune  {job.id}  {job.label}: not tuned yet")
            if dry_run:
                click.echo(f"{len(missing)} arm(s) still to tune in {root}; their cells are listed once tuned")
                return
            raise KgrecError(f"{root}: {len(missing)} arm(s) are not tuned yet; run `kgrec study` without --report first")
        if missing:
            from kgrec.lock import DirectoryLock
            from kgrec.study.runner import dataset_loader

            root.mkdir(parents=True, exist_ok=True)
            with DirectoryLock(root, "kgrec study"):
                tuned = run_tuning(study, root, dataset_loader(), echo=click.echo)
        cells = expand(study, tuned)
    if dry_run:
        done = load_results(root, cells)
        for cell in unique(cells):
            status = "done" if cell.id in done else "todo"
            click.echo(f"{status}  {cell.id}  {describe(cell)}")
        click.echo(f"{len(done)} of {len(unique(cells))} cells finished in {root}")
        return
    if not report_only:
        outcome = run_study(study, cells, root, progress=not quiet, fail_fast=fail_fast, echo=click.echo)
        click.echo(f"{study.name}: {len(outcome.ran)} cells run, {outcome.skipped} already finished, "
                   f"{len(outcome.failed)} failed")
    results = load_results(root, cells)
    if report_only and not results:
        raise KgrecError(f"{root} holds no finished cell of this study; run `kgrec study` without --report first")
    written = write_report(study, cells, results, target, with_plots=not no_plots, root=root)
    click.echo(f"report: {written['md']} (+ results.csv, results.json"
               f"{', plots' if len(written) > 3 else ''})")
    if not report_only and outcome.failed:
        first = outcome.failed[0][0]
        raise KgrecError(f"{len(outcome.failed)} cell(s) failed, e.g. {describe(first)}: {outcome.failed[0][1]} "
                         f"(log: {cell_dir(root, first) / 'cell.log'}); run the study again to retry them")
