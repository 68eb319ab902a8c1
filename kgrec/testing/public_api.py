"""What a plugin may import from kgrec, and a checker that finds every other use."""

from __future__ import annotations

from pathlib import Path

PUBLIC_MODULES = ("kgrec", "kgrec.diffusion", "kgrec.testing")
"""The modules a plugin may import from; of ``kgrec`` itself, only the names in its ``__all__``."""


def private_api_uses(source: str, filename: str = "<source>") -> list[str]:
    """Every place ``source`` reaches into kgrec beyond its public API, one line each.

    Parses with :mod:`ast`, so an import anywhere counts (a function body, a test): an import
    of a module outside :data:`PUBLIC_MODULES`, a name not in its module's ``__all__``, or an
    attribute read such as ``kgrec.registry`` on an imported public module. A plugin's test
    asserts ``private_api_uses(path.read_text(), str(path)) == []`` for each of its files.
    """
    import ast
    import importlib

    problems: list[str] = []
    bound: dict[str, str] = {}  # local name -> public module, from `import kgrec[.x] [as y]`
    tree = ast.parse(source, filename=filename)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "kgrec":
                    continue
                if alias.name not in PUBLIC_MODULES:
                    problems.append(f"{filename}:{node.lineno}: import {alias.name} (private module)")
                elif alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound["kgrec"] = "kgrec"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                node.module.split(".")[0] == "kgrec"):
            if node.module not in PUBLIC_MODULES:
                problems.append(f"{filename}:{node.lineno}: from {node.module} import ... (private module)")
                continue
            public = set(importlib.import_module(node.module).__all__)
            problems += [f"{filename}:{node.lineno}: {node.module}.{a.name} is not public API"
                         for a in node.names if a.name not in public]
    for node in ast.walk(tree):
        # `kgrec.diffusion.X` reads attribute `diffusion` of `kgrec`: a public module, so look
        # at the outermost dotted name that starts with a bound local name.
        if not isinstance(node, ast.Attribute):
            continue
        parts, inner = [node.attr], node.value
        while isinstance(inner, ast.Attribute):
            parts.append(inner.attr)
            inner = inner.value
        if not (isinstance(inner, ast.Name) and inner.id in bound):
            continue
        module, rest = bound[inner.id], list(reversed(parts))
        while rest and f"{module}.{rest[0]}" in PUBLIC_MODULES:
            module = f"{module}.{rest.pop(0)}"
        if rest and rest[0] not in importlib.import_module(module).__all__ + ["__version__"]:
            problems.append(f"{filename}:{node.lineno}: {module}.{rest[0]} is not public API")
    return sorted(set(problems))


def public_api_problems(*roots: str | Path) -> list[str]:
    """:func:`private_api_uses` over every ``.py`` file under ``roots`` (files or folders)."""
    problems: list[str] = []
    for root in map(Path, roots):
        files = [root] if root.is_file() else sorted(root.rglob("*.py"))
        for path in files:
            problems += private_api_uses(path.read_text(encoding="utf-8"), str(path))
    return problems
