"""Continuing a finished run: ``kgrec run --resume RUN_DIR --epochs N`` (``kgrec.resume(run_dir,
epochs=N)``) ends exactly as a run started with N epochs (history, selected epoch, metrics,
per-user results), and refuses what it cannot do exactly, in one line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import kgrec
from kgrec import registry
from kgrec.data.synthetic import tiny_spec
from kgrec.errors import KgrecError
from kgrec.testing import cli_output
from kgrec.train.checkpoint import latest_epoch_checkpoint


def raw(epochs: int, augmenter: str = "none", **train) -> dict:
    return {"recommender": "lightgcn", "augmenter": augmenter, "dataset": tiny_spec(),
            "train": {"epochs": epochs, "backend": "torch", "device": "cpu", "seed": 0,
                      "batch_size": 256, "patience": 10, "lr": 0.01, **train}}


def trajectory(run_dir: Path) -> list[dict[str, str]]:
    rows = list(csv.DictReader((run_dir / "history.csv").open()))
    return [{k: v for k, v in row.items() if not k.endswith("_seconds")} for row in rows]


def same_run(a: Path, b: Path) -> None:
    assert trajectory(a) == trajectory(b)
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    differ = {k for k in ma if ma[k] != mb[k]} - {"mean_epoch_seconds"}
    assert not differ, differ
    with np.load(a / "per_user.npz") as pa, np.load(b / "per_user.npz") as pb:
        assert all(np.array_equal(pa[k], pb[k], equal_nan=pa[k].dtype.kind == "f") for k in pa.files)


@pytest.mark.parametrize("augmenter", [
    "none", pytest.param("diffkg", marks=pytest.mark.skipif(
        "diffkg" not in registry.available("augmenter"), reason="diffkg plugin not installed"))])
def test_two_epochs_continued_to_four_equal_a_four_epoch_run(tmp_path, augmenter):
    first = kgrec.run(raw(2, augmenter), out=tmp_path / "continued", progress=False, log=None)
    assert first.best_epoch <= 2
    assert latest_epoch_checkpoint(first.run_dir)[0] == 2  # a finished run keeps its last one
    continued = kgrec.resume(first.run_dir, epochs=4, progress=False, log=None)
    fresh = kgrec.run(raw(4, augmenter), out=tmp_path / "fresh", progress=False, log=None)
    assert continued.test == fresh.test and continued.best_epoch == fresh.best_epoch
    same_run(first.run_dir, fresh.run_dir)
    manifest = json.loads((first.run_dir / "config.json").read_text())
    assert manifest["config"]["train"]["epochs"] == 4
    assert [(c["from_epochs"], c["to_epochs"], c["after_epoch"]) for c in manifest["continued"]] == [(2, 4, 2)]
    assert kgrec.load(first.run_dir).evaluate("test") == fresh.test


def test_continue_through_the_cli_and_its_refusals(tmp_path, capsys):
    run_dir = tmp_path / "r"
    base = ["run", "-r", "mf", "--dataset", tiny_spec(), "--quiet", "--backend", "torch",
            "--device", "cpu", "--set", "train.patience=1", "--set", "train.lr=0.5"]
    code, _, _ = cli_output(capsys, *base, "--epochs", "1", "--out", str(run_dir))
    assert code == 0
    code, out, _ = cli_output(capsys, "run", "--resume", str(run_dir), "--epochs", "6", "--quiet")
    assert code == 0 and "best epoch" in out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["stopped_by"] == "early_stopping" and metrics["epochs_run"] < 6
    for argv, words in [
        (["--epochs", "7"], "stopped early"),        # patience 1: stopped before 6
        (["--epochs", "2", "--set", "train.lr=0.1"], "--set"),
        ([], "finished run"),
    ]:
        code, _, err = cli_output(capsys, "run", "--resume", str(run_dir), *argv)
        assert code == 2 and words in err and err.strip().count("\n") == 0, err


def test_closed_form_and_old_runs_cannot_be_continued(tmp_path):
    pop = kgrec.run({**raw(1), "recommender": "pop"}, out=tmp_path / "pop", progress=False, log=None)
    with pytest.raises(KgrecError, match="closed form"):
        kgrec.resume(pop.run_dir, epochs=3, progress=False, log=None)
    old = kgrec.run(raw(1), out=tmp_path / "old", progress=False, log=None)
    for path in (old.run_dir / "checkpoints").iterdir():
        path.unlink()  # as a kgrec before continuing existed left it
    with pytest.raises(KgrecError, match="without keeping its last epoch checkpoint"):
        kgrec.resume(old.run_dir, epochs=3, progress=False, log=None)


def test_eval_every_that_skips_the_old_cap_is_warned_about(tmp_path):
    first = kgrec.run(raw(3, eval_every=2), out=tmp_path / "r", progress=False, log=None)
    said: list[str] = []
    kgrec.resume(first.run_dir, epochs=4, progress=False, log=said.append)
    assert any("epoch 3 was validated because it was the epoch cap" in line for line in said)


def test_a_crash_while_continuing_leaves_a_resumable_run(tmp_path, monkeypatch):
    from kgrec.train.trainer import Trainer

    first = kgrec.run(raw(2), out=tmp_path / "r", progress=False, log=None)
    real = Trainer.train_epoch

    def dies_in_epoch_4(self, epoch):
        if epoch == 4:
            raise KeyboardInterrupt  # as if killed mid-epoch
        return real(self, epoch)

    monkeypatch.setattr(Trainer, "train_epoch", dies_in_epoch_4)
    with pytest.raises(KeyboardInterrupt):
        kgrec.resume(first.run_dir, epochs=5, progress=False, log=None)
    monkeypatch.setattr(Trainer, "train_epoch", real)
    assert not (first.run_dir / "metrics.json").exists()  # unfinished again, with epoch 3 kept
    assert latest_epoch_checkpoint(first.run_dir)[0] == 3
    resumed = kgrec.resume(first.run_dir, progress=False, log=None)  # no --epochs needed now
    fresh = kgrec.run(raw(5), out=tmp_path / "fresh", progress=False, log=None)
    assert resumed.test == fresh.test
    same_run(first.run_dir, fresh.run_dir)
