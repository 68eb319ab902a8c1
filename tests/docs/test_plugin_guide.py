"""Every code sample in docs/plugins.md runs, so the guide cannot rot.

A sample whose first line is ``# file: PATH`` (python or toml) is a file of the guide's
example plugin: those are written into a distribution, which is installed into a temporary
directory. Every other python sample is executed, in the order of the guide and in one
namespace, by a subprocess that sees that installation; a failure names the guide's line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kgrec.testing import private_api_uses

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
CHECKED = {"python", "toml"}
SHOWN_ONLY = {"sh", "text", ""}

RUNNER = '''
import json, sys
namespace = {"__name__": "__guide__"}
for line, body in json.load(open(sys.argv[1])):
    exec(compile("\\n" * (line - 1) + body, sys.argv[2], "exec"), namespace)
print("ran", len(json.load(open(sys.argv[1]))), "samples")
'''


def samples() -> list[tuple[str, str, int]]:
    """(language, body, line of the body's first line in the guide), in order."""
    text = GUIDE.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start(2)) + 1) for m in FENCE.finditer(text)]


def file_path(body: str) -> str | None:
    first = body.split("\n", 1)[0]
    return first[len("# file: "):].strip() if first.startswith("# file: ") else None


def test_every_code_block_is_a_checked_or_a_shell_language():
    languages = {lang for lang, _, _ in samples()}
    assert languages <= CHECKED | SHOWN_ONLY, "a python block in another spelling would go untested"
    files = [file_path(body) for lang, body, _ in samples() if lang in CHECKED]
    assert "pyproject.toml" in files and any(f and f.endswith(".py") for f in files)
    assert sum(f is None for f in files) >= 4  # samples that run, not just files


def test_python_samples_use_only_the_public_api():
    problems = [p for lang, body, line in samples() if lang == "python"
                for p in private_api_uses("\n" * (line - 1) + body, str(GUIDE.name))]
    assert problems == []


@pytest.fixture(scope="module")
def guide_plugin(tmp_path_factory):
    dist = tmp_path_factory.mktemp("guide-dist")
    site = tmp_path_factory.mktemp("guide-site")
    for lang, body, _ in samples():
        path = file_path(body) if lang in CHECKED else None
        if path:
            (dist / path).parent.mkdir(parents=True, exist_ok=True)
            (dist / path).write_text(body, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(dist)], check=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return env


def test_samples_run_in_order(guide_plugin, tmp_path):
    runnable = [(line, body) for lang, body, line in samples() if lang == "python" and not file_path(body)]
    (tmp_path / "samples.json").write_text(json.dumps(runnable))
    (tmp_path / "runner.py").write_text(RUNNER)
    out = subprocess.run([sys.executable, "runner.py", "samples.json", str(GUIDE)], cwd=tmp_path,
                         env=guide_plugin, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"ran {len(runnable)} samples" in out.stdout


def test_guide_plugin_passes_the_plugin_check(guide_plugin, tmp_path):
    out = subprocess.run([sys.executable, "-m", "kgrec.cli", "plugins", "--check", "sgl_lite"], cwd=tmp_path,
                         env=guide_plugin, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all checks passed" in out.stdout
