"""One writer per output directory: a second kgrec run (or study) into a directory another
process is writing is refused before it writes anything; a crashed writer's lock is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kgrec import KgrecError
from kgrec.lock import DirectoryLock
from kgrec.testing import cli_output

HARNESS = Path(__file__).with_name("hang_harness.py")
TINY = "synthetic?num_users=60&num_items=40&seed=1"
# small batches: several per epoch, so the harness can hang after the first step of epoch 2
ARGV = ["run", "-r", "mf", "--dataset", TINY, "--epochs", "3", "--quiet", "--backend", "torch",
        "--device", "cpu", "--set", "train.batch_size=64"]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_a_second_run_into_a_directory_being_written_is_refused_and_touches_nothing(tmp_path, capsys):
    run_dir = tmp_path / "run"
    # the first run hangs in the middle of epoch 2, holding its directory
    first = subprocess.Popen([sys.executable, str(HARNESS), "2", *ARGV, "--out", str(run_dir)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "history.csv").exists():  # epoch 1 is written
            assert first.poll() is None, first.stderr.read()
            assert time.monotonic() < deadline, "the first run wrote no epoch in 120 s"
            time.sleep(0.05)
        before = snapshot(run_dir)
        code, _, err = cli_output(capsys, *ARGV, "--out", str(run_dir))
        assert code == 2 and err.strip().count("\n") == 0, err
        assert f"process {first.pid}" in err and "being written by another kgrec run" in err
        assert snapshot(run_dir) == before  # the refusal wrote nothing
        code, _, err = cli_output(capsys, "run", "--resume", str(run_dir))
        assert code == 2 and "being written" in err  # nor can it be resumed under the writer
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        first.stderr.close()
    # the writer is gone: its lock is stale, and the run continues from its last epoch
    assert (run_dir / ".lock").exists()
    assert cli_output(capsys, "run", "--resume", str(run_dir), "--quiet")[0] == 0
    assert json.loads((run_dir / "metrics.json").read_text())["epochs_run"] == 3
    assert not (run_dir / ".lock").exists()


def test_a_refused_run_leaves_no_empty_directory(tmp_path, capsys):
    run_dir = tmp_path / "done"
    assert cli_output(capsys, *ARGV, "--out", str(run_dir))[0] == 0
    assert cli_output(capsys, *ARGV, "--out", str(run_dir))[0] == 2  # finished: refused
    assert (run_dir / "metrics.json").exists() and not (run_dir / ".lock").exists()


def test_the_lock_refuses_a_live_owner_and_takes_over_a_dead_one(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import socket

        (tmp_path / ".lock").write_text(f"{sleeper.pid} {socket.gethostname()}")
        with pytest.raises(KgrecError, match=f"process {sleeper.pid}"):
            with DirectoryLock(tmp_path, "kgrec study"):
                pass
    finally:
        sleeper.kill()
        sleeper.wait()
    with DirectoryLock(tmp_path, "kgrec study") as lock:  # the owner is dead: stale
        assert lock.held and (tmp_path / ".lock").read_text().startswith(str(os.getpid()))
    assert not (tmp_path / ".lock").exists()
    (tmp_path / ".lock").write_text("garbage")  # unreadable owner: stale too
    with DirectoryLock(tmp_path, "kgrec run"):
        pass
