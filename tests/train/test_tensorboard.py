"""TensorBoard output (--tensorboard DIR): losses, metrics, graph-health columns and learning
rates per epoch beside history.csv; refused in one line where the package is missing."""

from __future__ import annotations

import csv

import pytest

from kgrec.train.tensorboard import TensorBoardLog, tag, tensorboard_missing
from kgrec.testing import cli_output

TINY = "synthetic?num_users=60&num_items=40&seed=1"


def _scalars(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir))
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def test_history_columns_map_to_grouped_tags():
    assert tag("loss") == "loss/loss" and tag("bpr") == "loss/bpr"
    assert tag("valid_recall@20") == "valid/recall@20" and tag("test_ndcg@10") == "test/ndcg@10"
    assert tag("graph_kg_kept") == "graph/kg_kept" and tag("health_latent_ratio") == "health/latent_ratio"
    assert tag("fit_diffusion") == "augmenter/diffusion" and tag("train_seconds") == "time/train_seconds"


@pytest.mark.skipif(tensorboard_missing() is not None, reason="the tensorboard package is not installed "
                                                               "(pip install 'kgrec[tensorboard]')")
def test_a_run_writes_every_history_column_and_the_learning_rates(tmp_path, capsys):
    out, board = tmp_path / "run", tmp_path / "tb"
    code, _, err = cli_output(capsys, "run", "-r", "mf", "--dataset", TINY, "--epochs", "3", "--quiet",
                              "--out", str(out), "--tensorboard", str(board),
                              "--set", "train.lr_decay=0.5", "--set", "train.batch_size=128")
    assert code == 0, err
    scalars = _scalars(board / "run")
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [s for s, _ in scalars["valid/recall@20"]] == [1, 2, 3]
    assert scalars["valid/recall@20"][-1][1] == pytest.approx(float(rows[-1]["valid_recall@20"]))
    assert scalars["loss/loss"][0][1] == pytest.approx(float(rows[0]["loss"]), rel=1e-6)
    lrs = [v for _, v in scalars["lr/backbone"]]
    assert lrs == pytest.approx([0.0005, 0.00025, 0.000125])  # after each epoch's decay
    # graph-health numbers, as augmenters report them, go under graph/ and health/
    direct = TensorBoardLog(tmp_path / "direct")
    direct.epoch({"epoch": 1, "loss": 0.5, "graph_kg_kept": 0.8, "health_latent_ratio": 1.5,
                  "note": "text is skipped"}, {"backbone": 0.01, "denoiser": 0.001})
    direct.close()
    got = _scalars(tmp_path / "direct")
    assert got["graph/kg_kept"] == [(1, pytest.approx(0.8))] and "health/latent_ratio" in got
    assert got["lr/denoiser"] == [(1, pytest.approx(0.001))]


def test_missing_tensorboard_is_refused_in_one_line_before_anything_is_written(tmp_path, capsys, monkeypatch):
    import kgrec.train.tensorboard as tb

    monkeypatch.setattr(tb, "tensorboard_missing", lambda: "--tensorboard needs the tensorboard package")
    out = tmp_path / "run"
    code, _, err = cli_output(capsys, "run", "-r", "mf", "--dataset", TINY, "--epochs", "1", "--quiet",
                              "--out", str(out), "--tensorboard", str(tmp_path / "tb"))
    assert code == 2 and err.strip().count("\n") == 0 and "tensorboard package" in err
    assert not out.exists()
