"""A plugin distribution installed from outside is discovered, listed and runnable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "toy_plugin"
KGREC = [sys.executable, "-m", "kgrec.cli"]


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    # copy so the build leaves nothing behind in the source tree
    subprocess.run(["cp", "-r", str(FIXTURE), str(build / "toy")], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(build / "toy")], check=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), env.get("PYTHONPATH")]))
    return env


def test_builtins_are_registered_through_entry_points():
    from kgrec import registry

    assert {"mf", "lightgcn"} <= set(registry.available("recommender"))
    infos = {i.name: i for i in registry.describe("augmenter")}
    assert infos["none"].distribution == "kgrec"


def test_installed_plugin_is_listed_with_its_distribution(plugin_env):
    out = subprocess.run(KGREC + ["plugins"], env=plugin_env, capture_output=True, text=True, check=True)
    line = next(l for l in out.stdout.splitlines() if "toy_dropedge" in l)
    assert "kgrec-toy-plugin" in line and "kgrec_toy:DropEdge" in line


def test_installed_plugin_runs(plugin_env, tmp_path):
    out = subprocess.run(KGREC + ["run", "--augmenter", "toy_dropedge", "--recommender", "lightgcn",
                                  "--dataset", "synthetic?num_users=60&num_items=40", "--epochs", "2",
                                  "--quiet", "--out", str(tmp_path / "run"), "--backend", "torch"],
                         env=plugin_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "run" / "metrics.json").exists()
    assert "recall" in out.stdout


def test_unknown_plugin_is_a_one_line_error():
    out = subprocess.run(KGREC + ["run", "--augmenter", "nosuch", "--epochs", "1"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "unknown augmenter 'nosuch'" in out.stderr
