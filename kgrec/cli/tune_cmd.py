"""``kgrec tune``: Optuna search over one augmenter + recommender's settings, on validation."""

from __future__ import annotations

from pathlib import Path

import click

from kgrec.cli.main import cli
from kgrec.config import parse_overrides


@cli.command("tune")
@click.option("--augmenter", "-a", help="Augmenter name; default none.")
@click.option("--recommender", "-r", help="Recommender name; default lightgcn.")
@click.option("--dataset", "-d", help="Dataset directory, or `synthetic` (the default).")
@click.option("--format", "format_", help="Force a dataset format instead of detecting it.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="TOML config file: the settings every trial starts from.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Override a base setting (repeatable), as for kgrec run.")
@click.option("--epochs", type=click.IntRange(min=1), help="Budget per trial: train.epochs of every trial.")
@click.option("--seed", type=int, help="train.seed of every trial.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Where to train.")
@click.option("--trials", type=click.IntRange(min=1), required=True,
              help="Finished (complete or pruned) trials the study should hold; a resumed run adds the rest.")
@click.option("--space", "space_file", type=click.Path(dir_okay=False, exists=True),
              help="TOML file overriding the components' search spaces (docs/studies.md).")
@click.option("--storage", help="Optuna storage URL (default: sqlite:///<out>/tune.db); share it to tune in parallel.")
@click.option("--name", help="Study name in the storage (default: kgrec-tune).")
@click.option("--out", type=click.Path(file_okay=False),
              help="Output directory (default: tuning/<augmenter>-<recommender>-<dataset>).")
@click.option("--timeout", type=click.FloatRange(min=0), help="Stop starting trials after this many seconds.")
@click.option("--no-prune", is_flag=True, help="Run every trial to its end (no median pruning).")
@click.option("--sampler-seed", type=int, default=0, show_default=True, help="Seed of the TPE sampler.")
@click.option("--quiet", is_flag=True, help="No per-trial lines.")
def tune_command(augmenter, recommender, dataset, format_, config_file, assignments, epochs, seed, device,
                 trials, space_file, storage, name, out, timeout, no_prune, sampler_seed, quiet) -> None:
    """Search the settings of one augmenter + recommender with Optuna (TPE, median pruning on
    validation curves), resumably; write best.toml (for kgrec run --config and studies) and
    trials.csv. The test split is never read."""
    from kgrec.experiment import resolve_config
    from kgrec.tune import tune

    flags: dict = {k: v for k, v in (("augmenter", augmenter), ("recommender", recommender),
                                     ("dataset", dataset), ("format", format_)) if v is not None}
    train = {k: v for k, v in (("epochs", epochs), ("seed", seed), ("device", device)) if v is not None}
    if train:
        flags["train"] = train
    layers = [config_file, flags, parse_overrides(list(assignments))]
    base = resolve_config(*layers)
    if out is None:
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in (Path(base.dataset).name or base.dataset))[:40]
        out = Path("tuning") / f"{base.augmenter}-{base.recommender}-{stem}"
    result = tune([layer for layer in layers if layer is not None], trials=trials, out=out, storage=storage,
                  name=name, space=space_file, sampler_seed=sampler_seed, prune=not no_prune,
                  timeout=timeout, log=None if quiet else click.echo)
    click.echo(f"\nbest valid {result.metric} {result.best_value:.4f} (trial {result.best_trial}): "
               + (" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in result.best_params.items()) or "nothing tuned"))
    click.echo(f"best config: {result.best_toml} (kgrec run --config {result.best_toml})")
    click.echo(f"trials: {result.out / 'trials.csv'}; study {result.name!r} in {result.storage}")
