"""``kgrec plugins``: what is installed, and from which distribution."""

from __future__ import annotations

import click

from kgrec import registry
from kgrec.cli.main import cli


@cli.command("plugins")
def plugins_command() -> None:
    """List registered recommenders and augmenters with their distribution and location."""
    for kind in ("recommender", "augmenter"):
        click.echo(f"{kind}s ({registry.GROUPS[kind]}):")
        for info in registry.describe(kind):
            click.echo(f"  {info.name:<14} {info.distribution} {info.version:<10} "
                       f"{info.target}  [{info.location}]")
