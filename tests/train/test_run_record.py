"""What a finished run records beyond its mean metrics: per-user test metrics (under raw ids
where the data has them), metrics by user and item group, convergence and graph health."""

import json

import numpy as np
import pytest

from kgrec.testing import cli_output, tiny_data, tiny_run


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return tiny_run("none", "lightgcn", tmp_path_factory.mktemp("run") / "r", epochs=3)


def test_per_user_file_holds_the_values_whose_mean_is_the_test_metric(finished):
    from kgrec.experiment.per_user import load_per_user

    metrics = json.loads((finished.run_dir / "metrics.json").read_text())
    found = load_per_user(finished.run_dir)
    assert metrics["per_user"]["ids"] == "internal" and str(found["id_kind"]) == "internal"
    data = tiny_data()
    assert np.array_equal(found["user"], np.unique(data.test.users))
    for name, value in finished.test.items():
        assert float(found[name].astype(np.float64).sum()) / len(found["user"]) == value
    degree = np.bincount(data.train.users, minlength=data.num_users)
    assert np.array_equal(found["train_degree"], degree[found["user"]])
    assert found["item_group_recall@20"].shape == (len(found["user"]), 3)


def test_groups_partition_users_by_degree_and_items_by_popularity(finished):
    metrics = json.loads((finished.run_dir / "metrics.json").read_text())
    users, items = metrics["groups"]["user_degree"], metrics["groups"]["item_popularity"]
    assert sum(users["sizes"]) == metrics["per_user"]["users"]
    assert users["high"] == sorted(users["high"]) and all(lo <= hi for lo, hi in zip(users["low"], users["high"]))
    data = tiny_data()
    assert sum(items["sizes"]) == data.num_items and items["sizes"] == [30, 18, 12]  # 50 / 30 / 20 %
    assert items["high"][0] <= items["low"][2]  # the head is at least as popular as the tail
    # group means of the per-user values (users weighted equally in the overall mean)
    overall = sum(m * n for m, n in zip(users["metrics"]["recall@20"], users["sizes"])) / sum(users["sizes"])
    assert overall == pytest.approx(finished.test["recall@20"])
    shares = np.array([items["metrics"]["share@20"]]).sum()
    assert shares == pytest.approx(1.0)


def test_raw_user_ids_are_kept_when_the_data_has_them(tmp_path):
    data = tiny_data()
    data = data.replace(user_ids=np.array([f"u{1000 + u}" for u in range(data.num_users)]))
    result = tiny_run("none", "mf", tmp_path / "raw", data=data, epochs=1)
    from kgrec.experiment.per_user import load_per_user

    found = load_per_user(result.run_dir)
    assert str(found["id_kind"]) == "raw" and found["raw_user"][0] == f"u{1000 + found['user'][0]}"
    assert json.loads((result.run_dir / "metrics.json").read_text())["per_user"]["ids"] == "raw"


def test_convergence_and_groups_in_the_cli_summary(capsys, tmp_path):
    code, out, _ = cli_output(capsys, "run", "-r", "mf", "--dataset", "synthetic?num_users=60&num_items=40",
                              "--epochs", "2", "--quiet", "--out", str(tmp_path / "r"))
    assert code == 0 and "NOT CONVERGED: reached the epoch cap 2" in out
    assert "test by user training degree" in out and "test by item popularity" in out
    assert "per-user test metrics:" in out and "internal user ids" in out
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["stopped_by"] == "epoch_cap" and metrics["converged"] is False
    assert metrics["convergence"]["best_in_last_window"] is True


def test_graph_health_numbers_are_logged_and_a_near_empty_graph_warns(tmp_path, monkeypatch):
    from kgrec.augmenters.identity import NoAugmenter
    from kgrec.train.trainer import GraphHealthWarning

    calls = iter([0.5, 0.004, 0.2, 0.001])

    def fit_epoch(self, ctx):
        return {"graph_kg_edges": 10.0, "graph_kg_kept": next(calls), "loss_own": 1.0}

    def refine(self, emb, ctx):
        if ctx.training:
            ctx.report("health_latent_ratio", 0.25)
        return emb

    monkeypatch.setattr(NoAugmenter, "fit_epoch", fit_epoch)
    monkeypatch.setattr(NoAugmenter, "refine", refine)
    with pytest.warns(GraphHealthWarning, match="'kg' produced by the augmenter at epoch 2 keeps 0.40%"):
        result = tiny_run("none", "lightgcn", tmp_path / "h", epochs=4)
    row = result.history[1]
    assert row["graph_kg_kept"] == 0.004 and row["fit_loss_own"] == 1.0 and row["health_latent_ratio"] == 0.25
    health = json.loads((result.run_dir / "metrics.json").read_text())["health"]
    assert len(health["warnings"]) == 1  # once per graph
    assert health["columns"]["graph_kg_kept"]["min"] == 0.001
    assert health["columns"]["health_latent_ratio"]["last"] == 0.25


def test_report_names_must_use_the_health_prefixes():
    from kgrec.testing import tiny_context, tiny_model

    ctx = tiny_context(tiny_model("mf"))
    with pytest.raises(ValueError, match="graph_\\* or health_\\*"):
        ctx.report("edges", 1.0)
