"""A study survives SIGKILL and resumes, running every cell exactly once; --report rebuilds the
same tables from stored results without training."""

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from kgrec.testing import run_cli as invoke

STUDY = """
name = "resume"
datasets = ["synthetic?num_users=60&num_items=40"]
recommenders = ["mf"]
seeds = [1, 2]
noise = { interactions = [0, 0.2] }

[base]
train = { epochs = 1, backend = "torch", device = "cpu", batch_size = 256, eval_every = 1 }

[augmenters.none.variants]
plain = {}
fast = { train.lr = 0.01 }
"""
CELLS = 2 * 2 * 2  # noise x seeds x arms


def results(out: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted(out.glob("cells/*/result.json"))}


@pytest.fixture(scope="module")
def killed_then_resumed(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    spec, out = root / "resume.toml", root / "out"
    spec.write_text(STUDY)
    argv = ["study", str(spec), "--out", str(out), "--quiet", "--no-plots"]
    proc = subprocess.Popen([sys.executable, "-m", "kgrec.cli", *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not results(out) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = results(out)
    assert 1 <= len(before) < CELLS, "the study was not killed mid-way"
    journal = out / "events.jsonl"
    first_run = len(journal.read_text().splitlines())
    assert invoke(*argv) == 0
    second_run = [json.loads(line) for line in journal.read_text().splitlines()[first_run:]]
    return out, before, second_run


def test_resume_runs_every_cell_exactly_once(killed_then_resumed):
    out, before, second_run = killed_then_resumed
    after = results(out)
    assert len(after) == CELLS
    assert all(after[cid] == blob for cid, blob in before.items())  # finished cells untouched
    # the second run started and finished exactly the cells the first had not finished, once each
    for event in ("start", "finish"):
        counts = Counter(e["cell"] for e in second_run if e["event"] == event)
        assert set(counts) == set(after) - set(before) and set(counts.values()) == {1}
    for cell in (out / "cells").iterdir():
        runs = [p for p in cell.iterdir() if p.is_dir()]
        assert len(runs) == 1 and (runs[0] / "metrics.json").exists()
    assert not (out / ".lock").exists()


def test_report_is_rebuilt_identically_without_training(killed_then_resumed, monkeypatch, tmp_path):
    out = killed_then_resumed[0]
    report = out / "report"
    kept = {name: (report / name).read_text() for name in ("results.md", "results.csv", "results.json")}
    shutil.rmtree(report)

    def no_training(*args, **kwargs):
        raise AssertionError("--report must not train")

    monkeypatch.setattr("kgrec.study.runner.run", no_training)
    monkeypatch.setattr("kgrec.study.runner.resume", no_training)
    spec = tmp_path / "resume.toml"
    spec.write_text(STUDY)
    assert invoke("study", str(spec), "--out", str(out), "--report", "--no-plots") == 0
    assert {name: (report / name).read_text() for name in kept} == kept
    md = kept["results.md"]
    assert "Only validation-selected test metrics are tabulated" in md
    assert "8 of 8 finished" in md and "Δ vs none:plain" in md
    # the table is what the stored results say: the mean over seeds of metrics.json "test"
    table = json.loads(kept["results.json"])
    stored = [json.loads(p.read_text()) for p in out.glob("cells/*/result.json")]
    row = next(r for r in table["rows"] if r["arm"] == "none:fast" and r["noise"] == "interactions=0.2"
               and r["metric"] == "recall@20")
    values = [r["metrics"]["test"]["recall@20"] for r in stored
              if r["arm"] == "none:fast" and r["noise"] == {"interactions": 0.2}]
    assert row["n"] == 2 and row["mean"] == pytest.approx(sum(values) / 2)
    assert row["baseline"] == "none:plain" and row["pairs"] == 2
    assert row["t_pvalue"] is not None or "same for every seed" in row["note"]


def test_report_without_results_is_an_error(tmp_path, capsys):
    spec = tmp_path / "resume.toml"
    spec.write_text(STUDY)
    assert invoke("study", str(spec), "--out", str(tmp_path / "empty"), "--report") == 2
    assert "no finished cell" in capsys.readouterr().err


def test_plots_are_png_and_matplotlib_stays_lazy(killed_then_resumed, tmp_path):
    pytest.importorskip("matplotlib")
    from kgrec.study import expand, load_results, load_study, write_report

    spec = tmp_path / "resume.toml"
    spec.write_text(STUDY)
    study = load_study(spec)
    cells = expand(study)
    written = write_report(study, cells, load_results(killed_then_resumed[0], cells), tmp_path / "report")
    pngs = sorted(p.name for p in written.values() if p.suffix == ".png")
    assert pngs == ["bars_ndcg_at_20.png", "bars_recall_at_20.png", "items_recall_at_20.png",
                    "noise_ndcg_at_20.png", "noise_recall_at_20.png", "users_ndcg_at_20.png",
                    "users_recall_at_20.png"]  # two noise settings: curves too; user and item groups
    assert all((tmp_path / "report" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert "![recall@20 against noise](noise_recall_at_20.png)" in written["md"].read_text()
    # the core imports matplotlib only inside the functions that plot
    import kgrec

    for path in Path(kgrec.__file__).parent.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.split(".")[0] == "matplotlib" for n in names), path


def test_an_interrupted_cell_resumes_after_its_last_epoch(tmp_path, monkeypatch):
    """A cell killed mid-run continues from its epoch checkpoint (not from scratch) and ends
    with the metrics of a cell that was never interrupted."""
    import tomllib

    from kgrec.data import load_dataset
    from kgrec.study.grid import expand, parse_study
    from kgrec.study.runner import cell_dir, run_cell
    from kgrec.train.trainer import Trainer

    spec = tomllib.loads(STUDY.replace("seeds = [1, 2]", "seeds = [1]")
                         .replace("epochs = 1", "epochs = 4"))
    cell = expand(parse_study(spec))[0]
    data = load_dataset(cell.config.dataset, cell.config.format, cell.config.split)
    reference = run_cell(cell, tmp_path / "reference", data)

    real_epoch = Trainer.train_epoch
    epochs_trained = []

    def crash_in_epoch_3(self, epoch):
        epochs_trained.append(epoch)
        if epoch == 3:
            raise RuntimeError("killed")
        return real_epoch(self, epoch)

    monkeypatch.setattr(Trainer, "train_epoch", crash_in_epoch_3)
    with pytest.raises(RuntimeError, match="killed"):
        run_cell(cell, tmp_path / "study", data)
    where = cell_dir(tmp_path / "study", cell)
    assert not (where / "result.json").exists()
    epochs_trained.clear()
    monkeypatch.setattr(Trainer, "train_epoch", lambda self, epoch: (epochs_trained.append(epoch),
                                                                      real_epoch(self, epoch))[1])
    resumed = run_cell(cell, tmp_path / "study", data)
    assert epochs_trained == [3, 4]  # epochs 1 and 2 came from the checkpoint
    assert "resuming the unfinished run" in (where / "cell.log").read_text()
    assert resumed["metrics"]["test"] == reference["metrics"]["test"]
    assert resumed["metrics"]["best_epoch"] == reference["metrics"]["best_epoch"]
