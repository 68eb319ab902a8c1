"""The floors: pop ranks by training counts, EASE equals a direct numpy solve, both run through
the normal run path in one epoch, and EASE refuses a solve that does not fit in one line."""

import json

import numpy as np
import pytest
import torch

from kgrec.errors import ConfigError, KgrecError
from kgrec.recommenders.floors import ease_weights
from kgrec.testing import cli_output, memory_limit, tiny_data, tiny_model, tiny_run, tiny_setup


def test_pop_scores_rank_items_by_training_counts_ties_by_id():
    model = tiny_model("pop")
    data = model.setup_info.data
    counts = np.bincount(data.train.items, minlength=data.num_items)
    scores = model.score(model.encode(model.view()), torch.tensor([0, 3]))
    assert scores.shape == (2, data.num_items) and torch.equal(scores[0], scores[1])
    order = torch.argsort(scores[0], descending=True).numpy()
    expected = np.lexsort((np.arange(data.num_items), -counts))  # most popular first, then lower id
    assert (order == expected).all()
    assert list(model.parameters()) == [] and type(model).closed_form


def test_ease_equals_a_direct_numpy_solve():
    data = tiny_data()
    x = np.zeros((data.num_users, data.num_items))
    x[data.train.users, data.train.items] = 1.0
    lam = 50.0
    p = np.linalg.inv(x.T @ x + lam * np.eye(data.num_items))
    expected = -p / np.diag(p)[None, :]
    np.fill_diagonal(expected, 0.0)
    b = ease_weights(data.train.users, data.train.items, data.num_users, data.num_items, lam).numpy()
    assert np.allclose(b, expected, rtol=1e-4, atol=1e-6)
    model = tiny_model("ease", tiny_setup(data), l2=lam)
    users = torch.arange(7)
    scores = model.score(model.encode(model.view()), users)
    assert np.allclose(scores.numpy(), x[:7] @ expected, rtol=1e-4, atol=1e-5)


def test_ease_refuses_a_solve_that_does_not_fit_naming_items_and_memory():
    data = tiny_data()
    with memory_limit(1000), pytest.raises(KgrecError) as err:
        ease_weights(data.train.users, data.train.items, data.num_users, data.num_items, 10.0)
    message = str(err.value)
    assert "\n" not in message and f"{data.num_items:,} items" in message
    assert "needs 84 KiB" in message and "available" in message


def test_ease_out_of_memory_is_a_one_line_cli_error(capsys, tmp_path):
    with memory_limit(1000):
        code, _, err = cli_output(capsys, "run", "-r", "ease", "--dataset", "synthetic?num_users=60&num_items=40",
                                  "--out", str(tmp_path / "r"), "--quiet")
    assert code == 2 and err.count("\n") == 1 and "item x item solve for 40 items" in err


def test_floors_run_one_epoch_and_record_why(tmp_path):
    for name in ("pop", "ease"):
        result = tiny_run("none", name, tmp_path / name, epochs=5)
        metrics = json.loads((result.run_dir / "metrics.json").read_text())
        assert len(result.history) == 1 and result.best_epoch == 1
        assert metrics["stopped_by"] == "closed_form" and metrics["converged"] is True
        assert "loss" not in result.history[0]


def test_floors_take_no_augmenter():
    from kgrec.experiment import resolve_config

    with pytest.raises(ConfigError, match="closed form and takes no augmenter"):
        resolve_config({"recommender": "pop", "augmenter": "diffkg"})
    with pytest.raises(ConfigError, match="ease.l2 must be > 0"):
        resolve_config({"recommender": "ease", "ease": {"l2": 0.0}})
