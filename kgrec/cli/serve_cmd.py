"""``kgrec serve RUN_DIR --port P``: top-K per user over HTTP (the ``serve`` extra)."""

from __future__ import annotations

import click

from kgrec.cli.main import cli


@cli.command("serve")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--k", type=click.IntRange(min=1), default=10, show_default=True,
              help="Items per user when a request names no k.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
def serve_command(run_dir, port, host, k, device) -> None:
    """Answer top-K requests for a finished run: GET /recommend?user=ID&k=10 (JSON)."""
    from kgrec.experiment.serve import serve

    serve(run_dir, host=host, port=port, k=k, device=device, log=click.echo)
