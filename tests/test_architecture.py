"""The layering rules a newcomer relies on, checked on the source itself.

- No import cycle between kgrec's top-level modules and packages (``kgrec.data``,
  ``kgrec.train``, ...), deferred imports inside functions included: the layers of
  docs/architecture.md form a DAG.
- Every plugin under ``plugins/`` (its code and its tests) reaches kgrec only through the
  public API: ``kgrec.__all__``, ``kgrec.diffusion`` and ``kgrec.testing``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kgrec
import kgrec.diffusion
import kgrec.testing
from kgrec.testing import private_api_uses, public_api_problems

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "kgrec"
PLUGINS = sorted(p for p in (REPO / "plugins").iterdir() if (p / "pyproject.toml").is_file())


def _layer(module: str) -> str:
    """``kgrec.data.formats.x`` -> ``kgrec.data``: the unit whose imports must not cycle."""
    return ".".join(module.split(".")[:2])


def import_edges() -> dict[str, dict[str, str]]:
    """layer -> {imported layer: first place it is imported}, from every import statement."""
    edges: dict[str, dict[str, str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        source = _layer(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == "kgrec":  # `from kgrec import registry` imports a submodule
                    targets = [f"kgrec.{a.name}" if ((PACKAGE / a.name).is_dir()
                                                     or (PACKAGE / f"{a.name}.py").is_file())
                               else "kgrec" for a in node.names]
                else:
                    targets = [node.module]
            else:
                continue
            for target in targets:
                if target.split(".")[0] == "kgrec" and _layer(target) != source:
                    edges.setdefault(source, {}).setdefault(
                        _layer(target), f"{path.relative_to(REPO)}:{node.lineno}")
    return edges


def find_cycle(edges: dict[str, dict[str, str]]) -> list[str] | None:
    """One cycle of ``edges`` as the path of import places around it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, {}):
            if state.get(nxt) == 1:
                loop = stack[stack.index(nxt):] + [nxt]
                return [f"{a} -> {b} ({edges[a][b]})" for a, b in zip(loop, loop[1:])]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_kgrec_layers_import_each_other_without_cycles():
    edges = import_edges()
    assert "kgrec.experiment" in edges and "kgrec.train" in edges["kgrec.experiment"]
    assert find_cycle(edges) is None, find_cycle(edges)


def test_the_cycle_finder_finds_a_cycle():
    edges = {"a": {"b": "a.py:1"}, "b": {"c": "b.py:2"}, "c": {"a": "c.py:3"}, "d": {"a": "d.py:1"}}
    assert find_cycle(edges) == ["a -> b (a.py:1)", "b -> c (b.py:2)", "c -> a (c.py:3)"]
    assert find_cycle({"a": {"b": "x"}, "b": {}}) is None


def test_no_core_module_imports_the_package_root():
    """Only user code does ``from kgrec import run``; inside kgrec that would be a cycle."""
    assert "kgrec" not in {target for targets in import_edges().values() for target in targets}


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_plugin_code_and_tests_use_only_the_public_api(plugin):
    assert (plugin / "src").is_dir() and (plugin / "tests").is_dir()
    assert public_api_problems(plugin / "src", plugin / "tests") == []


@pytest.mark.parametrize("source", [
    "from kgrec.graph.graph import Graph",
    "import kgrec.registry",
    "from kgrec import registry",
    "import kgrec\nkgrec.config.build",
    "def f():\n    from kgrec.nn.losses import bpr_loss",
    "from kgrec.diffusion import make_schedule_that_does_not_exist",
])
def test_the_public_api_check_catches_private_uses(source):
    assert len(private_api_uses(source)) == 1


@pytest.mark.parametrize("module", [kgrec, kgrec.diffusion, kgrec.testing], ids=lambda m: m.__name__)
def test_every_public_name_exists(module):
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == [] and len(set(module.__all__)) == len(module.__all__)
