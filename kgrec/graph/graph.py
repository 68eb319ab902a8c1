"""An immutable COO graph value that both kernel backends understand.

Messages flow ``src -> dst``: ``ops.spmm(g, x)[v] = sum over edges (u -> v) of w_e * x[u]``.
A graph is hashed by identity, so each backend can memoise its native form (a DGLGraph, a
torch sparse matrix) per instance; a rebuilt graph is a new object and can never be stale.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True, eq=False)
class Graph:
    """Edges ``src[e] -> dst[e]`` with optional per-edge ``weight`` and type ``etype``.

    Shapes:
        src, dst, weight, etype: ``(E,)``; node ids index ``num_src`` / ``num_dst`` nodes.
    """

    src: Tensor
    dst: Tensor
    num_src: int
    num_dst: int
    weight: Tensor | None = None
    etype: Tensor | None = None

    def __post_init__(self) -> None:
        if self.src.shape != self.dst.shape or self.src.dim() != 1:
            raise ValueError("src and dst must be 1-d tensors of equal length")
        for name in ("weight", "etype"):
            value = getattr(self, name)
            if value is not None and value.shape[0] != self.src.shape[0]:
                raise ValueError(f"{name} must have one entry per edge")

    @property
    def num_edges(self) -> int:
        return int(self.src.shape[0])

    @property
    def device(self) -> torch.device:
        return self.src.device

    def to(self, device: torch.device | str) -> "Graph":
        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device)

        return Graph(self.src.to(device), self.dst.to(device), self.num_src, self.num_dst,
                     move(self.weight), move(self.etype))

    def with_weight(self, weight: Tensor | None) -> "Graph":
        return Graph(self.src, self.dst, self.num_src, self.num_dst, weight, self.etype)

    def in_degrees(self) -> Tensor:
        return torch.bincount(self.dst, minlength=self.num_dst)

    def out_degrees(self) -> Tensor:
        return torch.bincount(self.src, minlength=self.num_src)


def bipartite_graph(users: Tensor, items: Tensor, num_users: int, num_items: int,
                    self_loops: bool = False) -> Graph:
    """The user-item graph as one homogeneous graph over ``num_users + num_items`` nodes.

    Users are nodes ``0..U-1`` and items ``U..U+I-1``; every interaction gives an edge in each
    direction. Weights are the symmetric normalisation ``D^-1/2 (A [+ I]) D^-1/2``.
    """
    n = num_users + num_items
    item_nodes = items + num_users
    src = torch.cat([users, item_nodes])
    dst = torch.cat([item_nodes, users])
    if self_loops:
        loop = torch.arange(n, device=users.device)
        src, dst = torch.cat([src, loop]), torch.cat([dst, loop])
    return symmetric_normalized(Graph(src, dst, n, n))


def symmetric_normalized(graph: Graph) -> Graph:
    """Weights ``w_e / sqrt(deg_out(src) * deg_in(dst))`` (degrees counted with weights)."""
    weight = graph.weight if graph.weight is not None else torch.ones(
        graph.num_edges, device=graph.device)
    deg_out = torch.zeros(graph.num_src, device=graph.device).index_add_(0, graph.src, weight)
    deg_in = torch.zeros(graph.num_dst, device=graph.device).index_add_(0, graph.dst, weight)
    inv_out = deg_out.clamp(min=1e-12).rsqrt()
    inv_in = deg_in.clamp(min=1e-12).rsqrt()
    return graph.with_weight(weight * inv_out[graph.src] * inv_in[graph.dst])
