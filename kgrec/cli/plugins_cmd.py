"""``kgrec plugins``: what is installed, and from which distribution; ``--check`` validates one."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import click

from kgrec import registry
from kgrec.cli.main import cli
from kgrec.errors import PluginError


@cli.command("plugins")
@click.option("--check", "check", metavar="NAME",
              help="Validate plugin NAME (interface, config, presets, requires, a 1-epoch run).")
def plugins_command(check: str | None) -> None:
    """List registered recommenders and augmenters with their distribution and location."""
    if check is not None:
        check_command(check)
        return
    for kind in ("recommender", "augmenter"):
        click.echo(f"{kind}s ({registry.GROUPS[kind]}):")
        for info in registry.describe(kind):
            click.echo(f"  {info.name:<14} {info.distribution} {info.version:<10} "
                       f"{info.target}  [{info.location}]")


def check_command(name: str) -> None:
    """Print a checklist per kind ``name`` is registered as; exit 2 listing every problem."""
    kinds = registry.find_kinds(name)
    if not kinds:
        known = ", ".join(registry.available("augmenter") + registry.available("recommender"))
        raise PluginError(f"no augmenter or recommender named {name!r} is registered (installed: {known})")
    problems: list[str] = []
    for kind in kinds:
        info = next(i for i in registry.describe(kind) if i.name == name)  # type: ignore[arg-type]
        click.echo(f"{name} ({kind}, {info.distribution} {info.version}, {info.target})")
        checks, cls = registry.static_checks(kind, name)  # type: ignore[arg-type]
        if cls is not None:
            checks.append(_tiny_run_check(kind, name))
        for c in checks:
            click.echo(f"  {'ok  ' if c.ok else 'FAIL'}  {c.label}")
            for problem in c.problems:
                click.echo(f"          {problem}")
        problems += [f"{name} ({kind}): {problem}" for c in checks for problem in c.problems]
    if problems:
        for line in problems:
            click.echo(f"error: {line}", err=True)
        sys.exit(2)  # not click's Exit: kgrec's main() runs click with standalone_mode=False
    click.echo("all checks passed")


def _tiny_run_check(kind: str, name: str) -> registry.Check:
    """One epoch on the tiny synthetic dataset (every side input), torch backend, CPU."""
    from kgrec.data.synthetic import tiny_spec
    from kgrec.experiment import run

    augmenter, recommender = (name, "lightgcn") if kind == "augmenter" else ("none", name)
    label = f"1-epoch run of {augmenter}+{recommender} on tiny synthetic data"
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="kgrec-check-") as tmp:
            raw = {"augmenter": augmenter, "recommender": recommender, "dataset": tiny_spec(),
                   "train": {"epochs": 1, "backend": "torch", "device": "cpu", "batch_size": 256}}
            result = run(raw, out=Path(tmp) / "run", progress=False, log=None)
    except Exception as exc:  # the point is to report any failure, with where it happened
        first = str(exc).splitlines()[0] if str(exc) else ""
        return registry.Check(label, (f"1-epoch run failed: {type(exc).__name__}: {first}{_where(exc)}",))
    bad = [k for k, v in result.test.items() if v != v]
    if bad:
        return registry.Check(label, (f"1-epoch run gave NaN test metrics: {', '.join(bad)}",))
    return registry.Check(f"{label} ({time.perf_counter() - start:.1f} s)")


def _where(exc: BaseException) -> str:
    """`` at file:line`` of the innermost frame, so a plugin author can find the failure."""
    tb = exc.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f" (at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno})"
