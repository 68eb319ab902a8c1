"""Templates behind ``kgrec new-plugin``: a plugin distribution that works as generated.

The templates (``templates/*.tmpl``, shipped as package data) hold ``{{key}}`` placeholders
filled from :class:`PluginNames`. The generated component is deliberately small but real (edge
dropout for an augmenter, one propagation layer for a recommender), so a new author starts
from something that installs, passes its own tests and shows up in ``kgrec plugins``.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path

from kgrec.errors import KgrecError

KINDS = ("augmenter", "recommender")
NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class PluginNames:
    """Every spelling of one plugin's name that the templates need."""

    name: str
    """The registered name (``--augmenter NAME``), also the entry point's name."""
    kind: str
    group: str
    package: str
    distribution: str
    class_name: str
    kgrec_version: str


def check_name(name: str) -> None:
    """A plugin name is lower-case letters, digits and ``_``, starting with a letter."""
    if not NAME_RE.match(name) or keyword.iskeyword(name):
        raise KgrecError(f"invalid plugin name {name!r}: use lower-case letters, digits and '_', "
                         "starting with a letter, at most 40 characters (e.g. my_dropout)")


def plugin_names(name: str, kind: str) -> PluginNames:
    from importlib.metadata import version

    from kgrec.registry import GROUPS

    check_name(name)
    if kind not in KINDS:
        raise KgrecError(f"unknown plugin kind {kind!r}; choose {' or '.join(KINDS)}")
    class_name = "".join(part.capitalize() for part in name.split("_") if part)
    return PluginNames(name=name, kind=kind, group=GROUPS[kind], package=f"kgrec_{name}",
                       distribution=f"kgrec-{name.replace('_', '-')}", class_name=class_name,
                       kgrec_version=version("kgrec"))


def default_directory(name: str) -> Path:
    check_name(name)
    return Path(f"kgrec-{name.replace('_', '-')}")


def fill(template: str, names: PluginNames) -> str:
    """Replace every ``{{key}}``; an unknown key is a bug in the template, not user input."""
    values = asdict(names)

    def one(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return _PLACEHOLDER.sub(one, template)


def _layout(names: PluginNames) -> dict[str, str]:
    """Output path (relative to the distribution) -> template file name."""
    return {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": f"README-{names.kind}.md.tmpl",
        f"src/{names.package}/__init__.py": "package_init.py.tmpl",
        f"src/{names.package}/{names.kind}.py": f"{names.kind}.py.tmpl",
        f"tests/test_{names.name}.py": f"test_{names.kind}.py.tmpl",
    }


def render(name: str, kind: str, target: Path) -> list[Path]:
    """Write the distribution for ``name`` into ``target`` (new or empty); returns the files."""
    names = plugin_names(name, kind)
    from kgrec.registry import available

    for other in KINDS:
        if name in available(other):  # type: ignore[arg-type]
            raise KgrecError(f"{name!r} is already registered as a {other} (see `kgrec plugins`); "
                             "choose another name")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise KgrecError(f"{target} already exists and is not an empty directory; choose another --dir")
    templates = files("kgrec.scaffold").joinpath("templates")
    written = []
    for relative, template in _layout(names).items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fill(templates.joinpath(template).read_text(encoding="utf-8"), names),
                        encoding="utf-8")
        written.append(path)
    return written
