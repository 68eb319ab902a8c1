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


def test_the_run_records_which_distribution_provided_each_component(plugin_env, tmp_path):
    import json

    out = subprocess.run(KGREC + ["run", "-a", "toy_dropedge", "-r", "mf", "--dataset",
                                  "synthetic?num_users=60&num_items=40", "--epochs", "1", "--quiet",
                                  "--out", str(tmp_path / "run"), "--backend", "torch"],
                         env=plugin_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    plugins = json.loads((tmp_path / "run" / "config.json").read_text())["plugins"]
    assert plugins["augmenter"] == {"name": "toy_dropedge", "class": "kgrec_toy:DropEdge",
                                    "distribution": "kgrec-toy-plugin", "version": "0.0.1"}
    assert plugins["recommender"]["distribution"] == "kgrec"
    assert plugins["installed"]["kgrec-toy-plugin"] == "0.0.1" and "kgrec" in plugins["installed"]


def _fake_distribution(site: Path, dist: str, entry_points: str) -> None:
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


def test_two_distributions_registering_one_name_stop_with_both_named(tmp_path, monkeypatch, capsys):
    from kgrec.testing import cli_output

    for dist in ("kgrec-first-dup", "kgrec-second-dup"):
        _fake_distribution(tmp_path, dist, "[kgrec.augmenters]\n"
                                           f"clash = {dist.replace('-', '_')}:Clash\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, _, err = cli_output(capsys, "run", "-a", "clash", "--epochs", "1")
    assert code == 2 and err.strip().count("\n") == 0, err
    assert "kgrec-first-dup" in err and "kgrec-second-dup" in err and "'clash'" in err
    code, _, err = cli_output(capsys, "plugins")
    assert code == 2 and "uninstall one of them" in err


def test_one_distribution_seen_twice_is_no_clash(tmp_path, monkeypatch):
    from kgrec import registry

    for where in ("a", "b"):  # e.g. an editable install and a copy on the path
        _fake_distribution(tmp_path / where, "kgrec-twice", "[kgrec.augmenters]\ntwice = x:Y\n")
        monkeypatch.syspath_prepend(str(tmp_path / where))
    assert "twice" in registry.available("augmenter")
