"""Optional TensorBoard output (``--tensorboard DIR``, ``train.tensorboard``): beside
``history.csv``, every epoch's row as scalars, grouped by what they are.

============================  =====================================
history column                TensorBoard tag
============================  =====================================
``loss``, ``bpr``, ``reg``..  ``loss/<name>``
``valid_recall@20``           ``valid/recall@20`` (``test/...`` alike)
``graph_kg_edges``            ``graph/kg_edges``
``health_latent_ratio``       ``health/latent_ratio``
``fit_<name>``                ``augmenter/<name>``
``*_seconds``                 ``time/<name>``
learning rates                ``lr/backbone``, ``lr/group<k>``, ``lr/<optimiser name>``
============================  =====================================

Needs the ``tensorboard`` package (``pip install 'kgrec[tensorboard]'``); without it the run
is refused in one line before anything is written.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

from kgrec.errors import KgrecError


def tensorboard_missing() -> str | None:
    """Why TensorBoard output cannot be written here, or None when it can."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        return ("--tensorboard needs the tensorboard package: pip install 'kgrec[tensorboard]' "
                "(or pip install tensorboard)")
    return None


def tag(column: str) -> str:
    """The TensorBoard tag of a history column (see the module table)."""
    for prefix, group in (("valid_", "valid"), ("test_", "test"), ("graph_", "graph"),
                          ("health_", "health"), ("fit_", "augmenter")):
        if column.startswith(prefix) and not column.endswith("_seconds"):
            return f"{group}/{column[len(prefix):]}"
    if column.endswith("_seconds"):
        return f"time/{column}"
    return f"loss/{column}"


class TensorBoardLog:
    """One run's event files in ``logdir``; :meth:`epoch` writes a history row."""

    def __init__(self, logdir: Path):
        missing = tensorboard_missing()
        if missing:
            raise KgrecError(missing)
        from torch.utils.tensorboard import SummaryWriter

        self.logdir = Path(logdir)
        self.writer = SummaryWriter(log_dir=str(self.logdir))

    def epoch(self, row: Mapping[str, Any], learning_rates: Mapping[str, float]) -> None:
        step = int(row["epoch"])
        for column, value in row.items():
            if column == "epoch" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if math.isfinite(float(value)):
                self.writer.add_scalar(tag(column), float(value), step)
        for name, lr in learning_rates.items():
            self.writer.add_scalar(f"lr/{name}", float(lr), step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def learning_rates(optimizer: Any, own: Mapping[str, Any]) -> dict[str, float]:
    """The current learning rates: the joint optimiser's groups (``backbone``, ``group<k>``)
    and each of the augmenter's own optimisers (by name, first group)."""
    out: dict[str, float] = {}
    for k, group in enumerate(optimizer.param_groups):
        out["backbone" if k == 0 else f"group{k}"] = float(group["lr"])
    for name, obj in own.items():
        groups = getattr(obj, "param_groups", None)
        if groups:
            out[name] = float(groups[0]["lr"])
    return out
