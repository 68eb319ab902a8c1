"""``kgrec new-plugin``: write a complete, separately installable plugin distribution."""

from __future__ import annotations

from pathlib import Path

import click

from kgrec.cli.main import cli


@cli.command("new-plugin")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["augmenter", "recommender"]),
              help="Which interface the component implements.")
@click.option("--dir", "directory", type=click.Path(file_okay=False),
              help="Where to write the distribution (default ./kgrec-NAME); must be new or empty.")
def new_plugin_command(name: str, kind: str, directory: str | None) -> None:
    """Write a working NAME plugin: pyproject (entry point), package, tests and README.

    Install it with `pip install -e DIR`; it then appears in `kgrec plugins` and runs in
    `kgrec run --augmenter NAME` (or `--recommender NAME`) with no change to kgrec.
    """
    from kgrec.scaffold import default_directory, render

    target = Path(directory) if directory else default_directory(name)
    written = render(name, kind, target)
    click.echo(f"wrote {kind} plugin {name!r} to {target}:")
    for path in written:
        click.echo(f"  {path.relative_to(target)}")
    click.echo(f"\nnext: pip install -e {target}   then: kgrec plugins --check {name}")
