"""LightGCN-style propagation, shared by backbones and augmenters that need a second view."""

from __future__ import annotations

import torch
from torch import Tensor

from kgrec.graph.graph import Graph
from kgrec.graph.ops import GraphOps


def light_propagate(ops: GraphOps, graph: Graph, x: Tensor, layers: int) -> Tensor:
    """Sum of ``x, A x, A^2 x, ..., A^L x`` over a normalised graph (no weights, no activation).

    .. math:: E = \\sum_{l=0}^{L} \\hat A^l E^{(0)}

    Shapes: x ``(N, d)``, out ``(N, d)``.
    """
    total = x
    h = x
    for _ in range(layers):
        h = ops.spmm(graph, h)
        total = total + h
    return total


def split_nodes(x: Tensor, num_users: int) -> tuple[Tensor, Tensor]:
    """Split a ``(U + I, d)`` node matrix into its user and item parts."""
    return x[:num_users], x[num_users:]


def join_nodes(users: Tensor, items: Tensor) -> Tensor:
    return torch.cat([users, items], dim=0)
