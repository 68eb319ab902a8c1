"""The plugin, tests included, reaches kgrec only through its public API."""

from pathlib import Path

import pytest

from kgrec.testing import private_api_uses

PLUGIN = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", sorted(PLUGIN.rglob("*.py")), ids=lambda p: p.name)
def test_no_private_kgrec_imports(path):
    assert private_api_uses(path.read_text(encoding="utf-8"), str(path.relative_to(PLUGIN))) == []
