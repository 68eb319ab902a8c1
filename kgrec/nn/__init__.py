"""Reusable layers and losses, written on :class:`kgrec.graph.GraphOps`."""

from kgrec.nn.losses import bpr_loss, info_nce, l2_penalty
from kgrec.nn.propagation import light_propagate

__all__ = ["bpr_loss", "info_nce", "l2_penalty", "light_propagate"]
