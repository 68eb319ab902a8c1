"""adagcl reaches kgrec only through its public API: the names in ``kgrec.__all__`` and the
public modules ``kgrec.diffusion`` and ``kgrec.testing``. The check parses every file of the
plugin with ``ast`` (:func:`kgrec.testing.private_api_uses`), so an import anywhere counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgrec.testing import private_api_uses

PLUGIN = Path(__file__).resolve().parents[1]
FILES = sorted((PLUGIN / "src").rglob("*.py")) + sorted((PLUGIN / "tests").rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PLUGIN)))
def test_file_uses_only_public_kgrec_api(path):
    assert private_api_uses(path.read_text(encoding="utf-8"), str(path.relative_to(PLUGIN))) == []


def test_every_source_module_is_checked():
    names = {p.name for p in FILES}
    assert {"augmenter.py", "generative.py", "denoising.py", "config.py", "__init__.py"} <= names


@pytest.mark.parametrize("source", [
    "from kgrec.graph.graph import Graph",
    "import kgrec.registry",
    "from kgrec import registry",
    "import kgrec\nkgrec.config.build",
    "def f():\n    from kgrec.nn.losses import bpr_loss",
])
def test_the_check_catches_private_uses(source):
    assert len(private_api_uses(source)) == 1
