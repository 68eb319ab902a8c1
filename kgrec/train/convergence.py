"""Did a run converge? A pure function of its validation curve, so synthetic curves pin it.

A run stops in one of three ways (``stopped_by``):

- ``early_stopping``: ``train.patience`` evaluations in a row brought no better validation
  score; the run converged by the rule it was given;
- ``epoch_cap``: it reached ``train.epochs`` first. It is **unconverged** when its best
  validation epoch lies within the last patience window at the cap (among the last
  ``patience`` evaluations): it was still improving, or had not waited long enough to tell;
- ``closed_form``: a recommender fitted in closed form (``pop``, ``ease``); nothing to converge.

Reaching the cap with the best epoch earlier than the last window cannot happen with
early stopping on (the run would have stopped); it is reported as converged.
"""

from __future__ import annotations

import math
from typing import Any, Sequence


def convergence(scores: Sequence[tuple[int, float]], patience: int, epochs: int,
                stopped_early: bool, closed_form: bool = False) -> dict[str, Any]:
    """The convergence record of a run from its ``(epoch, validation score)`` evaluations.

    Returns ``stopped_by``, ``converged``, ``best_epoch``, ``last_epoch``, ``epoch_cap``,
    ``evals_since_best`` (evaluations after the best one) and ``best_in_last_window``
    (None unless the run stopped at the cap).
    """
    evaluated = [(int(e), float(s)) for e, s in scores if s is not None and math.isfinite(float(s))]
    last = max((e for e, _ in evaluated), default=0)
    best_epoch, best = 0, -math.inf
    for epoch, score in evaluated:  # the first epoch reaching the best score, as the trainer picks
        if score > best:
            best_epoch, best = epoch, score
    since = sum(1 for e, _ in evaluated if e > best_epoch)
    out: dict[str, Any] = {"best_epoch": best_epoch, "last_epoch": last, "epoch_cap": epochs,
                           "patience": patience, "evals_since_best": since,
                           "best_in_last_window": None}
    if closed_form:
        return {**out, "stopped_by": "closed_form", "converged": True}
    if stopped_early:
        return {**out, "stopped_by": "early_stopping", "converged": True}
    in_window = since < patience
    return {**out, "stopped_by": "epoch_cap", "best_in_last_window": in_window,
            "converged": not in_window}


def describe(record: dict[str, Any]) -> str:
    """One sentence for the CLI summary and reports."""
    by = record.get("stopped_by")
    if by == "closed_form":
        return "fitted in closed form (no training epochs)"
    if by == "early_stopping":
        return (f"converged: stopped early at epoch {record['last_epoch']} after "
                f"{record['evals_since_best']} evaluations without improvement")
    if record.get("converged"):
        return (f"reached the epoch cap {record['epoch_cap']}; best epoch {record['best_epoch']} lies "
                "before the last patience window")
    return (f"NOT CONVERGED: reached the epoch cap {record['epoch_cap']} with its best validation epoch "
            f"{record['best_epoch']} among the last {record['patience']} evaluations; raise "
            "train.epochs (or train until converged)")
