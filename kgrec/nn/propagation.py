"""LightGCN-style propagation, shared by backbones and augmenters that need a second view."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from kgrec.graph.graph import Graph
from kgrec.graph.ops import GraphOps


def light_propagate(ops: GraphOps, graph: Graph, x: Tensor, layers: int,
                    layer_graph: Callable[[int, Tensor], Graph] | None = None) -> Tensor:
    """Sum of ``x, A x, A^2 x, ..., A^L x`` over a normalised graph (no weights, no activation).

    .. math:: E = \\sum_{l=0}^{L} \\hat A^l E^{(0)}

    With ``layer_graph`` (see :class:`kgrec.View`), layer ``l`` propagates over
    ``layer_graph(l, h_l)`` instead of ``graph``.

    Shapes: x ``(N, d)``, out ``(N, d)``.
    """
    total = x
    h = x
    for layer in range(layers):
        g = graph if layer_graph is None else layer_graph(layer, h)
        h = ops.spmm(g, h)
        total = total + h
    return total


def split_nodes(x: Tensor, num_users: int) -> tuple[Tensor, Tensor]:
    """Split a ``(U + I, d)`` node matrix into its user and item parts."""
    return x[:num_users], x[num_users:]


def join_nodes(users: Tensor, items: Tensor) -> Tensor:
    return torch.cat([users, items], dim=0)
