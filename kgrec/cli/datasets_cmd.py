"""``kgrec datasets info PATH``: a dataset's statistics."""

from __future__ import annotations

import json

import click

from kgrec.cli.main import cli
from kgrec.config import DataConfig, SplitConfig, build, parse_overrides


@cli.group("datasets")
def datasets_group() -> None:
    """Inspect datasets."""


@datasets_group.command("info")
@click.argument("path")
@click.option("--format", "format_", default="auto", help="Force a format instead of detecting it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="A data.* or split.* setting, as for kgrec run (columns, side tables, filters, "
                   "split), e.g. data.user=userId (repeatable).")
def info_command(path: str, format_: str, as_json: bool, assignments: tuple[str, ...]) -> None:
    """Print statistics of the dataset at PATH (or `synthetic`)."""
    from kgrec.data import describe, load_dataset

    split, data = SplitConfig(), DataConfig()
    if assignments:
        raw = parse_overrides(list(assignments))
        unknown = sorted(set(raw) - {"data", "split"})
        if unknown:
            raise click.UsageError(f"datasets info takes data.* and split.* settings; got {', '.join(unknown)}")
        split = build(SplitConfig, raw.get("split", {}), "split")
        data = build(DataConfig, raw.get("data", {}), "data")
    loaded = load_dataset(path, format_, split, data)
    stats = describe(loaded)
    filters = loaded.split.get("filters") if loaded.split else None
    if filters:
        stats["filters"] = {f["filter"]: f"removed {f['removed']} ({f['removed_users']} users, "
                                         f"{f['removed_items']} items), {f['interactions']} left"
                            for f in filters}
    if as_json:
        click.echo(json.dumps(stats, indent=2, default=str))
        return
    for key, value in _flatten(stats):
        click.echo(f"{key:<32} {value}")


def _flatten(stats: dict, prefix: str = ""):
    for key, value in stats.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value
