"""``kgrec run``: train one augmenter + recommender on one dataset."""

from __future__ import annotations

from pathlib import Path

import click

from kgrec.cli.main import cli, format_groups, format_metrics_table
from kgrec.config import parse_overrides
from kgrec.experiment import resolve_config


def build_run_config(config_file: str | None, flags: dict, assignments: tuple[str, ...]):
    """defaults < preset < ``--config`` file < explicit flags < ``--set``."""
    flag_layer: dict = {}
    for key in ("augmenter", "recommender", "dataset", "format"):
        if flags.get(key) is not None:
            flag_layer[key] = flags[key]
    train = {k: flags[k] for k in ("epochs", "seed", "device", "backend", "tensorboard")
             if flags.get(k) is not None}
    if train:
        flag_layer["train"] = train
    if flags.get("eval_on") is not None:
        flag_layer["eval"] = {"on": flags["eval_on"]}
    return resolve_config(config_file, flag_layer, parse_overrides(list(assignments)))


def _valid_table(valid: dict[str, float]) -> str:
    """Rows = metric, columns = K, validation only (a run with eval.on = valid)."""
    ks = sorted({int(k.split("@")[1]) for k in valid})
    header = f"{'metric':<10}" + "".join(f"{'valid@' + str(k):>12}" for k in ks)
    rows = [f"{name:<10}" + "".join(f"{valid.get(f'{name}@{k}', float('nan')):>12.4f}" for k in ks)
            for name in ("recall", "ndcg", "precision", "hit")]
    return "\n".join([header, "-" * len(header), *rows])


@cli.command("run")
@click.option("--augmenter", "-a", help="Augmenter name (see `kgrec plugins`); default none.")
@click.option("--recommender", "-r", help="Recommender name; default lightgcn.")
@click.option("--dataset", "-d", help="Dataset directory, or `synthetic` (the default).")
@click.option("--format", "format_", help="Force a dataset format instead of detecting it.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML config file.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. train.lr=0.01 or lightgcn.layers=3 (repeatable).")
@click.option("--epochs", type=click.IntRange(min=1), help="Shorthand for --set train.epochs=N.")
@click.option("--seed", type=int, help="Shorthand for --set train.seed=N.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Where to train.")
@click.option("--backend", type=click.Choice(["auto", "dgl", "torch"]), help="Graph kernel backend.")
@click.option("--out", type=click.Path(file_okay=False), help="Run directory (default runs/<time>-...).")
@click.option("--eval-on", "eval_on", type=click.Choice(["test", "valid"]),
              help="Which split the run reports (eval.on). The epoch is always selected on "
                   "validation; `valid` reports validation only and never reads the test split.")
@click.option("--tensorboard", type=click.Path(file_okay=False), metavar="DIR",
              help="Also write TensorBoard events (losses, metrics, graph health, learning rates) "
                   "under DIR/<run name> (train.tensorboard; needs the tensorboard package).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--plots", is_flag=True, help="Also draw groups.png (test metrics by user and item group; needs matplotlib).")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False),
              help="Continue the unfinished run in this directory after its last complete epoch, "
                   "with its recorded config; with --epochs N (the only other option allowed, "
                   "with --quiet and --plots) continue it, finished or not, to N epochs.")
def run_command(augmenter, recommender, dataset, format_, config_file, assignments, epochs, seed,
                device, backend, out, eval_on, tensorboard, quiet, plots, resume_dir) -> None:
    """Train and evaluate one augmenter + recommender; print validation-selected test metrics."""
    from kgrec.experiment import resume, run

    flags = dict(augmenter=augmenter, recommender=recommender, dataset=dataset, format=format_,
                 epochs=epochs, seed=seed, device=device, backend=backend, eval_on=eval_on,
                 tensorboard=tensorboard)
    if resume_dir is not None:
        given = [f"--{k}" for k, v in flags.items() if v is not None and k != "epochs"]
        given += ["--config"] * bool(config_file) + ["--set"] * bool(assignments) + ["--out"] * bool(out)
        if given:
            raise click.UsageError(f"--resume continues the run with its recorded config (only "
                                   f"--epochs may change); drop {', '.join(given)}")
        result = resume(Path(resume_dir), epochs=epochs, progress=not quiet, log=click.echo)
    else:
        config = build_run_config(config_file, flags, assignments)
        if config.train.tensorboard:
            from kgrec.train.tensorboard import tensorboard_missing

            missing = tensorboard_missing()
            if missing:  # before the dataset is read or anything is written
                raise click.UsageError(missing)
        result = run(config, out=out, progress=not quiet, log=click.echo)
    from kgrec.train.convergence import describe

    metrics = result.metrics or {}
    reported = "test" if result.test else "validation (--eval-on valid: the test split was not read)"
    click.echo(f"\nbest epoch {result.best_epoch} of {len(result.history)} by valid "
               f"{result.config.train.select_metric}; {reported} metrics at that epoch:")
    click.echo(format_metrics_table(result.valid, result.test) if result.test else _valid_table(result.valid))
    ev = result.config.eval
    if ev.protocol == "sampled":
        click.echo(f"protocol: sampled ({ev.negatives} random negative(s) per held-out item, seed "
                   f"{ev.negatives_seed}); a weaker protocol than full ranking, for comparison "
                   "with papers that use it")
    click.echo(f"\ntraining: {describe(result.convergence)}")
    k = int(result.config.train.select_metric.split("@")[1])
    if metrics.get("groups"):
        click.echo("\n" + format_groups(metrics["groups"], k))
    for warning in metrics.get("health", {}).get("warnings", []):
        click.echo(f"graph health: {warning}")
    if metrics.get("per_user"):
        info = metrics["per_user"]
        click.echo(f"\nper-user test metrics: {result.run_dir / info['file']} ({info['users']} users, "
                   f"{'the dataset' + chr(39) + 's own user ids' if info['ids'] == 'raw' else 'internal user ids'})")
    if plots:
        from kgrec.study.plots import matplotlib_missing, run_groups

        missing = matplotlib_missing()
        if missing:
            click.echo(f"no plots: {missing}")
        elif metrics.get("groups"):
            click.echo(f"plots: {run_groups(metrics['groups'], k, result.run_dir / 'groups.png')}")
    click.echo(f"run directory: {result.run_dir}")
