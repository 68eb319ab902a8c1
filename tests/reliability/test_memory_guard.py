"""Dense blocks are sized to the free memory: smaller batches where results do not change,
a one-line refusal naming the setting where they would."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgrec.cli.main import main
from kgrec.data.recdata import Interactions
from kgrec.errors import KgrecError
from kgrec.eval import ranking
from kgrec.eval.ranking import Positives, evaluate
from kgrec import memory
from kgrec.memory import MemoryWarning, available_bytes, fit_batch_size


def test_a_batch_that_fits_is_kept():
    assert fit_batch_size(1000, 100, 256, budget_bytes=10**6) == 256
    assert fit_batch_size(10, 100, 256, budget_bytes=10**6) == 10  # never more rows than exist


def test_a_batch_that_does_not_fit_shrinks_with_a_warning_naming_the_setting():
    with pytest.warns(MemoryWarning, match="lower train.eval_batch_size"):
        assert fit_batch_size(1000, 100, 256, budget_bytes=5000, setting="train.eval_batch_size") == 50


def test_without_shrink_the_batch_is_refused_with_advice():
    with pytest.raises(KgrecError, match=r"lower diffmm.batch_size to 50 or less"):
        fit_batch_size(1000, 100, 256, budget_bytes=5000, setting="diffmm.batch_size", shrink=False)


def test_not_even_one_row_fits():
    with pytest.raises(KgrecError, match="even one row .* lower train.eval_batch_size"):
        fit_batch_size(1000, 10**6, 4, budget_bytes=1000, setting="train.eval_batch_size")


def test_available_memory_is_read_on_this_machine():
    free = available_bytes("cpu")
    assert free is None or free > 0


def _toy_eval(monkeypatch, free: int | None):
    monkeypatch.setattr(memory, "available_bytes", lambda device="cpu": free)
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 50, 400), rng.integers(0, 30, 400)
    train, test = Interactions(users[:300], items[:300]), Interactions(users[300:], items[300:])
    scores = torch.randn(50, 30, generator=torch.Generator().manual_seed(0))
    dev = torch.device("cpu")
    return evaluate(lambda u: scores[u], Positives([test], 50, dev), Positives([train], 50, dev),
                    30, (5, 10), batch_size=64)


def test_evaluation_in_smaller_blocks_gives_the_same_metrics(monkeypatch):
    full = _toy_eval(monkeypatch, None)
    row = 30 * ranking.SCORE_ROW_BYTES_PER_ITEM
    with pytest.warns(MemoryWarning):
        small = _toy_eval(monkeypatch, int(7 * row / memory.BUDGET_FRACTION))  # 7 users a block
    assert small == full  # the metrics do not depend on the batching


def test_a_run_that_cannot_fit_one_row_exits_2_naming_the_setting(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(memory, "available_bytes", lambda device="cpu": 16)
    with pytest.raises(SystemExit) as exc:
        main(["run", "-r", "mf", "--dataset", "synthetic?num_users=60&num_items=40", "--epochs", "1",
              "--quiet", "--backend", "torch", "--device", "cpu", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.strip().count("\n") == 0 and "train.eval_batch_size" in err
