"""`kgrec run` end to end: the run directory, the selection protocol, and user errors."""

import csv
import json

import pytest

from kgrec.errors import MissingDataError
from kgrec.experiment.run import check_requirements
from kgrec.interfaces import GraphAugmenter
from kgrec.testing import tiny_data
from kgrec.testing import cli_output as invoke

TINY = "synthetic?num_users=60&num_items=40&seed=1"


def test_run_writes_a_complete_run_directory(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, out, err = invoke(capsys, "run", "-r", "lightgcn", "--dataset", TINY, "--epochs", "4",
                            "--quiet", "--out", str(out_dir), "--set", "train.batch_size=128")
    assert code == 0, err
    assert "test@20" in out and "recall" in out
    manifest = json.loads((out_dir / "config.json").read_text())
    assert manifest["seed"] == 2024 and manifest["backend"]["name"] in ("dgl", "torch")
    assert manifest["config"]["train"]["batch_size"] == 128
    assert len(manifest["split"]["train"]["sha256"]) == 64
    assert "torch" in manifest["versions"]
    assert (out_dir / "best.pt").exists() and (out_dir / "split.npz").exists()
    metrics = json.loads((out_dir / "metrics.json").read_text())
    rows = list(csv.DictReader((out_dir / "history.csv").open()))
    assert len(rows) == metrics["epochs_run"] == 4
    scores = [float(r["valid_recall@20"]) for r in rows]
    # the selected epoch is the first best validation epoch, and its valid metrics are reported
    assert metrics["best_epoch"] == scores.index(max(scores)) + 1
    assert metrics["valid"]["recall@20"] == pytest.approx(max(scores))


def _augmenter_case(name: str):
    from kgrec import registry

    return pytest.param("lightgcn", "torch", name, id=f"lightgcn-torch-{name}",
                        marks=pytest.mark.skipif(name not in registry.available("augmenter"),
                                                 reason=f"augmenter {name!r} is not installed"))


def _dgl_reason():
    import torch

    from kgrec.graph.ops import dgl_unavailable_reason

    return dgl_unavailable_reason(torch.device("cpu"))


@pytest.mark.parametrize("recommender,backend,augmenter", [
    ("mf", "torch", "none"),
    ("lightgcn", "torch", "none"),
    pytest.param("lightgcn", "dgl", "none", id="lightgcn-dgl-none",
                 marks=pytest.mark.skipif(_dgl_reason() is not None, reason=str(_dgl_reason()))),
    *[_augmenter_case(name) for name in ("diffkg", "recdiff", "diffmm")],
])
def test_same_seed_same_metrics(capsys, tmp_path, recommender, backend, augmenter):
    """Same seed, same backend, CPU: the run's metrics and its whole history are identical."""
    results = []
    for name in ("a", "b"):
        code, _, err = invoke(capsys, "run", "-r", recommender, "-a", augmenter, "--dataset", TINY,
                              "--epochs", "2", "--quiet", "--out", str(tmp_path / name),
                              "--backend", backend, "--device", "cpu", "--set", "train.batch_size=128")
        assert code == 0, err
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        rows = [{k: v for k, v in row.items() if not k.endswith("_seconds")}
                for row in csv.DictReader((tmp_path / name / "history.csv").open())]
        results.append((metrics["test"], metrics["valid"], rows))
    assert results[0] == results[1]


def test_refuses_to_overwrite_a_finished_run(capsys, tmp_path):
    args = ("run", "-r", "mf", "--dataset", TINY, "--epochs", "1", "--quiet", "--out", str(tmp_path / "r"))
    assert invoke(capsys, *args)[0] == 0
    code, _, err = invoke(capsys, *args)
    assert code == 2 and "already holds a finished run" in err


@pytest.mark.parametrize("argv,needle", [
    (("run", "--set", "train.lr=abc"), "train.lr must be a number"),
    (("run", "--set", "lightgcn.layrs=2"), "did you mean lightgcn.layers"),
    (("run", "--set", "nonsense"), "--set expects key=value"),
    (("run", "--epochs", "0"), "0 is not in the range"),
    (("run", "--device", "tpu"), "'tpu' is not one of"),
    (("run", "--recommender", "nosuch"), "unknown recommender 'nosuch'"),
    (("run", "--dataset", "/no/such/dir"), "/no/such/dir"),
    (("datasets", "info", "/no/such/dir"), "/no/such/dir"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, needle):
    code, _, err = invoke(capsys, *argv)
    assert code == 2
    assert needle in err
    assert err.strip().count("\n") == 0, err


def test_bad_config_file_names_file_and_line(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nlr = = 3\n")
    code, _, err = invoke(capsys, "run", "--config", str(bad))
    assert code == 2 and str(bad) in err and "line 2" in err


def test_config_file_then_flags_then_set(capsys, tmp_path):
    from kgrec.cli.run_cmd import build_run_config

    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text('recommender = "mf"\n[train]\nepochs = 7\nlr = 0.5\n[mf]\ndim = 8\n')
    cfg = build_run_config(str(cfg_file), {"epochs": 3}, ("train.lr=0.25",))
    assert (cfg.recommender, cfg.train.epochs, cfg.train.lr, cfg.recommender_config.dim) == ("mf", 3, 0.25, 8)


def test_missing_side_data_names_component_and_dataset():
    class NeedsKG(GraphAugmenter):
        requires = frozenset({"kg"})

    data = tiny_data().replace(kg=None, name="plain")
    with pytest.raises(MissingDataError, match="augmenter 'x' needs a knowledge graph; dataset 'plain' has none"):
        check_requirements("augmenter", "x", NeedsKG, data)


def test_datasets_info_prints_statistics(capsys):
    code, out, err = invoke(capsys, "datasets", "info", TINY)
    assert code == 0, err
    assert "users" in out and "60" in out
