"""``kgrec recommend`` and ``kgrec export``: use a finished run (docs/after-training.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kgrec.cli.main import cli

EXCLUDE_CHOICES = {"all": True, "train": "train", "none": False}


def _load(run_dir: str, device: str):
    from kgrec.experiment import load

    return load(Path(run_dir), device=device)


def _number(value: float) -> str:
    return f"{value:.4f}"


def format_recommendations(recs) -> str:
    """A table: one row per (user, rank)."""
    rows = [("user", "rank", "item", "score", "")]
    for row in recs:
        note = "popular: unknown user" if row.fallback else ""
        if not row.items:
            rows.append((str(row.user), "-", "-", "-", "no item left"))
        for rank, (item, score) in enumerate(zip(row.items, row.scores), start=1):
            rows.append((str(row.user), str(rank), str(item), _number(score), note))
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]:>{widths[3]}}"
             + (f"  {r[4]}" if r[4] else "") for r in rows]
    return "\n".join(line.rstrip() for line in lines)


@cli.command("recommend")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--user", "users", multiple=True, required=True, metavar="ID",
              help="A user id as the dataset names it (repeatable).")
@click.option("--k", type=click.IntRange(min=1), default=10, show_default=True,
              help="Items per user.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--exclude", type=click.Choice(list(EXCLUDE_CHOICES)), default="all", show_default=True,
              help="Leave out the user's items in every split (all), in training only, or none.")
@click.option("--candidate", "candidates", multiple=True, metavar="ID",
              help="Choose only among these item ids (repeatable; default: every item).")
@click.option("--unknown", type=click.Choice(["error", "popular"]), default="error", show_default=True,
              help="An unknown user is an error, or gets the most popular training items (flagged).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
def recommend_command(run_dir, users, k, fmt, exclude, candidates, unknown, device) -> None:
    """Top-K items for users of a finished run, under the dataset's own ids."""
    trained = _load(run_dir, device)
    user_ids = trained.ids.users.parse(users)
    item_ids = trained.ids.items.parse(candidates, "candidate item id") if candidates else None
    recs = trained.recommend(user_ids, k=k, exclude_seen=EXCLUDE_CHOICES[exclude],
                             candidates=item_ids, unknown=unknown)
    if fmt == "json":
        click.echo(json.dumps({"run": str(trained.run_dir), **recs.to_dict()}, indent=2))
    else:
        click.echo(format_recommendations(recs))


@cli.command("export")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="FILE.csv or FILE.parquet (the format follows the extension).")
@click.option("--k", type=click.IntRange(min=1), default=10, show_default=True, help="Items per user.")
@click.option("--embeddings", is_flag=True,
              help="Also write FILE.user_embeddings.EXT and FILE.item_embeddings.EXT (id, e0, e1, ...).")
@click.option("--exclude", type=click.Choice(list(EXCLUDE_CHOICES)), default="all", show_default=True,
              help="Leave out each user's items in every split (all), in training only, or none.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Users scored at once (default train.eval_batch_size; shrunk to fit memory).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def export_command(run_dir, out, k, embeddings, exclude, batch_size, device, quiet) -> None:
    """Write top-K for every user of a finished run (and its embeddings) to CSV or Parquet."""
    from kgrec.experiment.export import export, file_format

    file_format(Path(out))  # refuse a bad extension before loading anything
    trained = _load(run_dir, device)
    done = export(trained, out, k=k, exclude_seen=EXCLUDE_CHOICES[exclude], embeddings=embeddings,
                  batch_size=batch_size, progress=not quiet)
    click.echo(f"wrote {done.path}: top {k} for {done.users} users ({done.rows} rows) "
               f"in {done.seconds:.1f} s")
    for path in done.extra:
        click.echo(f"wrote {path}")
