"""Convergence detection on synthetic validation curves."""

from kgrec.train.convergence import convergence, describe


def curve(values, every=1):
    return [(every * (i + 1), v) for i, v in enumerate(values)]


def test_still_rising_at_the_cap_is_unconverged():
    record = convergence(curve([0.1, 0.2, 0.3, 0.4, 0.5]), patience=3, epochs=5, stopped_early=False)
    assert record["stopped_by"] == "epoch_cap" and record["best_epoch"] == 5
    assert record["best_in_last_window"] is True and record["converged"] is False
    assert "NOT CONVERGED" in describe(record)


def test_early_stopping_is_converged():
    scores = curve([0.1, 0.3, 0.29, 0.28, 0.27])
    record = convergence(scores, patience=3, epochs=50, stopped_early=True)
    assert record == {**record, "stopped_by": "early_stopping", "converged": True, "best_epoch": 2,
                      "evals_since_best": 3, "best_in_last_window": None}
    assert describe(record).startswith("converged")


def test_best_inside_the_last_window_at_the_cap_counts_evaluations_not_epochs():
    # evaluated every 2 epochs; best at epoch 6, then 2 evaluations without improvement
    scores = curve([0.1, 0.2, 0.4, 0.39, 0.38], every=2)
    assert convergence(scores, patience=3, epochs=10, stopped_early=False)["converged"] is False
    assert convergence(scores, patience=2, epochs=10, stopped_early=False)["converged"] is True


def test_patience_longer_than_the_run_leaves_it_unconverged():
    # DiffMM's recipe: patience 50 over 10 epochs; the best at epoch 2 is still in the window
    record = convergence(curve([0.2, 0.3] + [0.25] * 8), patience=50, epochs=10, stopped_early=False)
    assert record["best_epoch"] == 2 and record["evals_since_best"] == 8 and not record["converged"]


def test_ties_keep_the_first_best_and_missing_evaluations_are_skipped():
    scores = [(1, 0.2), (2, None), (3, 0.3), (4, 0.3), (5, float("nan"))]
    record = convergence(scores, patience=1, epochs=5, stopped_early=False)
    assert record["best_epoch"] == 3 and record["last_epoch"] == 4 and record["converged"]


def test_closed_form_models_need_no_convergence():
    record = convergence([(1, 0.5)], patience=10, epochs=1, stopped_early=False, closed_form=True)
    assert record["stopped_by"] == "closed_form" and record["converged"] is True
