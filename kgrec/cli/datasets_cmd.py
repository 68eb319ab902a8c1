"""``kgrec datasets info PATH``: a dataset's statistics."""

from __future__ import annotations

import json

import click

from kgrec.cli.main import cli
from kgrec.config import SplitConfig


@cli.group("datasets")
def datasets_group() -> None:
    """Inspect datasets."""


@datasets_group.command("info")
@click.argument("path")
@click.option("--format", "format_", default="auto", help="Force a format instead of detecting it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def info_command(path: str, format_: str, as_json: bool) -> None:
    """Print statistics of the dataset at PATH (or `synthetic`)."""
    from kgrec.data import describe, load_dataset

    stats = describe(load_dataset(path, format_, SplitConfig()))
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
