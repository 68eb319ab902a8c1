"""``kgrec``: run, study, tune, plugins, datasets, recommend, export, compare, serve. User errors
print one line and exit with code 2."""

from __future__ import annotations

import sys
import warnings

import click

from kgrec.errors import KgrecError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kgrec")
def cli() -> None:
    """kgrec: graph recommendation with pluggable diffusion augmenters."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: click's usage errors and kgrec's own errors become one line, exit 2."""
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"
    try:
        code = cli.main(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:  # ctx.exit(n) returns n in this mode
            sys.exit(code)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(2)
    except KgrecError as exc:
        click.echo(f"error: {' '.join(str(exc).splitlines())}", err=True)  # one line, always
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


def _load_cli_commands() -> None:
    from kgrec.cli import datasets_cmd, plugins_cmd, run_cmd  # noqa: F401  (registers commands)
    from kgrec.cli import study_cmd  # noqa: F401
    from kgrec.cli import new_plugin_cmd  # noqa: F401
    from kgrec.cli import tune_cmd  # noqa: F401
    from kgrec.cli import compare_cmd, serve_cmd, use_cmd  # noqa: F401


def format_metrics_table(valid: dict[str, float], test: dict[str, float]) -> str:
    """Rows = metric, columns = K, for validation (selecting) and test (reported)."""
    names = ["recall", "ndcg", "precision", "hit"]
    ks = sorted({int(k.split("@")[1]) for k in test})
    header = f"{'metric':<10}" + "".join(f"{'valid@' + str(k):>12}{'test@' + str(k):>12}" for k in ks)
    lines = [header, "-" * len(header)]
    for name in names:
        cells = "".join(f"{valid.get(f'{name}@{k}', float('nan')):>12.4f}"
                        f"{test.get(f'{name}@{k}', float('nan')):>12.4f}" for k in ks)
        lines.append(f"{name:<10}{cells}")
    return "\n".join(lines)


def format_groups(groups: dict, k: int) -> str:
    """The per-group test tables of a run's ``metrics.json`` "groups", at cut-off ``k``."""
    def num(value) -> str:
        return f"{value:>10.4f}" if isinstance(value, (int, float)) else f"{'–':>10}"

    def at(values, g):
        return values[g] if values is not None and g < len(values) else None

    lines = []
    users = groups.get("user_degree")
    if users:
        names = [f"recall@{k}", f"ndcg@{k}"]
        lines += [f"test by user training degree (users grouped at quantiles):",
                  f"{'group':<22}{'users':>7}" + "".join(f"{n:>10}" for n in names)]
        for g, label in enumerate(users["labels"]):
            lines.append(f"{label:<22}{users['sizes'][g]:>7}"
                         + "".join(num(at(users["metrics"].get(n), g)) for n in names))
    items = groups.get("item_popularity")
    if items:
        names = [f"recall@{k}", f"share@{k}"]
        lines += ["" if lines else "", f"test by item popularity (recall on the group's test items; "
                  f"share of the top {k} drawn from the group):",
                  f"{'group':<34}{'items':>7}{'users':>7}" + "".join(f"{n:>10}" for n in names)]
        for g, label in enumerate(items["labels"]):
            lines.append(f"{label:<34}{items['sizes'][g]:>7}{at(items.get('users'), g) or 0:>7}"
                         + "".join(num(at(items["metrics"].get(n), g)) for n in names))
    return "\n".join(lines)


_load_cli_commands()
