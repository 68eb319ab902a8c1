"""A loss that turns NaN (or inf) stops the run with one line and exit code 2, and the last good
checkpoints stay intact and loadable."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from kgrec import registry
from kgrec.cli.main import main
from kgrec.interfaces import GraphAugmenter
from kgrec.train.checkpoint import latest_epoch_checkpoint, load_checkpoint

TINY = "synthetic?num_users=60&num_items=40&seed=1"


@dataclass
class FaultConfig:
    """No options."""


def faulty(value: float, where: str) -> type:
    class Faulty(GraphAugmenter):
        """Adds a finite auxiliary loss (``where="loss"``) or reports a finite loss of its own
        generator (``where="fit"``), which becomes ``value`` from epoch 2 on."""

        Config = FaultConfig

        def __init__(self, config, setup):
            super().__init__(config, setup)
            self.scale = torch.nn.Parameter(torch.ones(()))

        def fit_epoch(self, ctx):
            return {"fault": value if ctx.epoch >= 2 else 1.0} if where == "fit" else {}

        def loss(self, emb, batch, ctx):
            term = 0.01 * self.scale ** 2
            return {"fault": term * value if ctx.epoch >= 2 and where == "loss" else term}

    return Faulty


@pytest.fixture
def register(monkeypatch):
    original = registry.load

    def install(name: str, cls: type) -> None:
        monkeypatch.setattr(registry, "load", lambda kind, n: cls if (kind, n) == ("augmenter", name)
                            else original(kind, n))

    return install


@pytest.mark.parametrize("value,where,needle", [
    (float("nan"), "loss", "loss is not finite at epoch 2, step 0"),
    (float("inf"), "loss", "loss is not finite at epoch 2, step 0"),
    (float("nan"), "fit", "own training (fit_epoch) is not finite at epoch 2"),
], ids=["nan-loss", "inf-loss", "nan-fit_epoch"])
def test_non_finite_loss_stops_with_one_line_and_keeps_last_good_state(capsys, tmp_path, register,
                                                                       value, where, needle):
    register("faulty", faulty(value, where))
    run_dir = tmp_path / "run"
    try:
        main(["run", "-a", "faulty", "-r", "mf", "--dataset", TINY, "--epochs", "4", "--quiet",
              "--backend", "torch", "--device", "cpu", "--out", str(run_dir)])
        code = 0
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0, err
    assert needle in err and "fault=" in err
    assert str(run_dir / "best.pt") in err
    assert not (run_dir / "metrics.json").exists()

    epoch, path = latest_epoch_checkpoint(run_dir)
    assert epoch == 1
    last = load_checkpoint(path, torch.device("cpu"))
    best = load_checkpoint(run_dir / "best.pt", torch.device("cpu"))
    assert last["epoch"] == best["epoch"] == 1
    for state in (last["model"], best["model"], last["augmenter"]):
        assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())
    # best.pt was written from the same epoch-1 state the epoch checkpoint holds
    assert all(torch.equal(last["model"][k], best["model"][k]) for k in best["model"])
