"""A run killed with SIGKILL mid-epoch and resumed ends with exactly the metrics of a run that
was never interrupted (same seed, CPU, torch backend)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kgrec import registry
from kgrec.train.checkpoint import latest_epoch_checkpoint, load_checkpoint
from kgrec.testing import run_cli as invoke

HARNESS = Path(__file__).with_name("hang_harness.py")
TINY = "synthetic?num_users=60&num_items=40&seed=1"
# lr 0.01 and a fine-grained selection metric make the selected epoch a late one, so the
# test metrics depend on the epochs trained after the resume.
BASE = ["run", "-r", "lightgcn", "--dataset", TINY, "--epochs", "5", "--quiet", "--backend", "torch",
        "--device", "cpu", "--set", "train.batch_size=128", "--set", "train.lr=0.01",
        "--set", "train.select_metric=ndcg@50", "--set", "train.patience=5"]
KILL_AFTER_EPOCH = 2


def augmenter_param(name: str):
    installed = name in registry.available("augmenter")
    return pytest.param(name, id=name, marks=pytest.mark.skipif(
        not installed, reason=f"augmenter {name!r} is not installed"))


def trajectory(run_dir: Path) -> list[dict[str, str]]:
    """history.csv without the wall-clock columns."""
    rows = list(csv.DictReader((run_dir / "history.csv").open()))
    return [{k: v for k, v in row.items() if not k.endswith("_seconds")} for row in rows]


def start_hanging(argv: list[str]) -> subprocess.Popen:
    """Start the run in a subprocess that hangs mid-epoch ``KILL_AFTER_EPOCH + 1``."""
    return subprocess.Popen([sys.executable, str(HARNESS), str(KILL_AFTER_EPOCH + 1), *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_after_checkpoint(proc: subprocess.Popen, run_dir: Path) -> None:
    """SIGKILL ``proc`` once the checkpoint of epoch ``KILL_AFTER_EPOCH`` is on disk."""
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = latest_epoch_checkpoint(run_dir)
            if found is not None and found[0] >= KILL_AFTER_EPOCH:
                break
            assert proc.poll() is None, f"run ended before it could be killed: {proc.stderr.read()}"
            time.sleep(0.05)
        else:
            pytest.fail("no epoch checkpoint appeared within 120 s")
        assert proc.poll() is None, "the run finished before the kill"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


# Not adagcl: its dense MLP losses differ in the 8th digit between two processes (MKL picks
# code paths by memory alignment; MKL_CBWR=COMPATIBLE makes them equal), so no two of its
# runs, resumed or not, agree to the last digit (docs/reliability.md).
@pytest.mark.parametrize("augmenter", [augmenter_param(name) for name in
                                       ("none", "recdiff", "diffkg", "diffmm")])
def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path, augmenter):
    argv = BASE + ["--augmenter", augmenter]
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    proc = start_hanging(argv + ["--out", str(killed)])
    try:  # the uninterrupted reference trains meanwhile, in this process
        assert invoke(*argv, "--out", str(reference)) == 0
    finally:
        kill_after_checkpoint(proc, killed)
    assert not (killed / "metrics.json").exists()
    epoch, path = latest_epoch_checkpoint(killed)
    assert epoch == KILL_AFTER_EPOCH  # killed mid-epoch 3: epoch 3 never completed
    state = load_checkpoint(path, "cpu")
    assert {"model", "augmenter", "augmenter_train", "optimizer", "scheduler", "rng", "history",
            "best"} <= set(state)
    assert len(state["history"]) == KILL_AFTER_EPOCH

    assert invoke("run", "--resume", str(killed), "--quiet") == 0

    ref = json.loads((reference / "metrics.json").read_text())
    got = json.loads((killed / "metrics.json").read_text())
    assert ref["best_epoch"] > KILL_AFTER_EPOCH, "settings must select an epoch after the kill"
    assert got["test"] == ref["test"]
    assert (got["best_epoch"], got["valid"]) == (ref["best_epoch"], ref["valid"])
    assert trajectory(killed) == trajectory(reference)
    manifest = json.loads((killed / "config.json").read_text())
    assert [r["after_epoch"] for r in manifest["resumed"]] == [KILL_AFTER_EPOCH]
    # a finished run keeps its last epoch checkpoint, so that it can be continued (--epochs N)
    assert latest_epoch_checkpoint(killed)[0] == len(trajectory(killed))


def test_resume_refuses_a_finished_run_and_extra_options(tmp_path, capsys):
    run_dir = tmp_path / "r"
    assert invoke("run", "-r", "mf", "--dataset", TINY, "--epochs", "1", "--quiet",
                  "--out", str(run_dir), "--backend", "torch") == 0
    capsys.readouterr()
    assert invoke("run", "--resume", str(run_dir)) == 2
    assert "finished run" in capsys.readouterr().err
    assert invoke("run", "--resume", str(run_dir), "--epochs", "3", "--seed", "1") == 2
    err = capsys.readouterr().err
    assert "--seed" in err and err.strip().count("\n") == 0
    assert invoke("run", "--resume", str(run_dir), "--epochs", "1") == 2  # not more than it ran
    err = capsys.readouterr().err
    assert "already trained 1 epochs" in err and err.strip().count("\n") == 0
    assert invoke("run", "--resume", str(tmp_path / "nothing")) == 2
    assert "not a kgrec run directory" in capsys.readouterr().err


def test_unfinished_run_directory_is_not_silently_restarted(tmp_path, capsys):
    run_dir = tmp_path / "r"
    argv = ["run", "-r", "mf", "--dataset", TINY, "--epochs", "3", "--quiet", "--out", str(run_dir),
            "--backend", "torch"]
    assert invoke(*argv) == 0
    (run_dir / "metrics.json").unlink()  # as if killed after the last epoch checkpoint
    (run_dir / "checkpoints").mkdir(exist_ok=True)
    (run_dir / "checkpoints" / "epoch-0003.pt").write_bytes(b"")
    capsys.readouterr()
    assert invoke(*argv) == 2
    assert "--resume" in capsys.readouterr().err


def _unfinished_run_on_files(tmp_path) -> tuple[Path, Path, list[str]]:
    """A finished 2-epoch run on a kgrec directory dataset, turned back into an unfinished run
    killed before any epoch checkpoint (metrics.json gone, no checkpoints)."""
    from kgrec.data import save_kgrec_dir
    from kgrec.testing import tiny_data

    data_dir = save_kgrec_dir(tiny_data(num_users=40, num_items=30), tmp_path / "data")
    run_dir = tmp_path / "run"
    argv = ["run", "-r", "mf", "--dataset", str(data_dir), "--epochs", "2", "--quiet",
            "--backend", "torch", "--device", "cpu", "--out", str(run_dir)]
    assert invoke(*argv) == 0
    (run_dir / "metrics.json").rename(tmp_path / "metrics.json")
    shutil.rmtree(run_dir / "checkpoints")  # a finished run keeps its last one
    return data_dir, run_dir, argv


def test_resume_without_a_checkpoint_starts_again_from_scratch(tmp_path, monkeypatch):
    _, run_dir, _ = _unfinished_run_on_files(tmp_path)
    monkeypatch.chdir(tmp_path / "run")  # resume must not depend on the working directory
    assert invoke("run", "--resume", str(run_dir), "--quiet") == 0
    before = json.loads((tmp_path / "metrics.json").read_text())
    after = json.loads((run_dir / "metrics.json").read_text())
    assert after["test"] == before["test"] and after["epochs_run"] == 2


def test_resume_refuses_when_the_dataset_changed(tmp_path, capsys):
    data_dir, run_dir, _ = _unfinished_run_on_files(tmp_path)
    lines = (data_dir / "train.tsv").read_text().splitlines(keepends=True)
    (data_dir / "train.tsv").write_text("".join(lines[1:]))
    capsys.readouterr()
    assert invoke("run", "--resume", str(run_dir), "--quiet") == 2
    err = capsys.readouterr().err
    assert "the train split" in err and "differs" in err and err.strip().count("\n") == 0


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", None], ids=["empty", "garbage", "foreign"])
def test_a_damaged_epoch_checkpoint_is_a_one_line_error(tmp_path, capsys, content):
    import torch

    run_dir = tmp_path / "r"
    assert invoke("run", "-r", "mf", "--dataset", TINY, "--epochs", "1", "--quiet",
                  "--backend", "torch", "--out", str(run_dir)) == 0
    (run_dir / "metrics.json").unlink()
    path = run_dir / "checkpoints" / "epoch-0001.pt"
    path.parent.mkdir(exist_ok=True)
    if content is None:
        torch.save({"format": 1, "model": {}}, path)
    else:
        path.write_bytes(content)
    capsys.readouterr()
    assert invoke("run", "--resume", str(run_dir), "--quiet") == 2
    err = capsys.readouterr().err
    assert str(path) in err and err.strip().count("\n") == 0, err
