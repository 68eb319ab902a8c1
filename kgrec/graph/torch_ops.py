"""Pure-torch kernels: sparse matmul for fixed weights, scatter for learnable ones."""

from __future__ import annotations

import weakref

import torch
from torch import Tensor

from kgrec.graph.graph import Graph


class TorchOps:
    """:class:`~kgrec.graph.ops.GraphOps` on ``torch.sparse`` and ``index_add_``."""

    name = "torch"

    def __init__(self) -> None:
        # One sparse (num_dst x num_src) matrix per graph instance, built on first use.
        self._adjacency: "weakref.WeakKeyDictionary[Graph, Tensor]" = weakref.WeakKeyDictionary()

    def _sparse(self, graph: Graph) -> Tensor:
        adj = self._adjacency.get(graph)
        if adj is None:
            weight = graph.weight if graph.weight is not None else torch.ones(
                graph.num_edges, device=graph.device)
            adj = torch.sparse_coo_tensor(
                torch.stack([graph.dst, graph.src]), weight.detach().float(),
                (graph.num_dst, graph.num_src)).coalesce()
            self._adjacency[graph] = adj
        return adj

    def spmm(self, graph: Graph, x: Tensor, weight: Tensor | None = None) -> Tensor:
        if weight is None and (graph.weight is None or not graph.weight.requires_grad):
            return torch.sparse.mm(self._sparse(graph), x)
        w = weight if weight is not None else graph.weight
        out = x.new_zeros((graph.num_dst,) + tuple(x.shape[1:]))
        messages = x[graph.src] * w.view(-1, *([1] * (x.dim() - 1)))
        return out.index_add(0, graph.dst, messages)

    def sddmm(self, graph: Graph, a: Tensor, b: Tensor) -> Tensor:
        return (a[graph.src] * b[graph.dst]).sum(-1)

    def edge_softmax(self, graph: Graph, logits: Tensor) -> Tensor:
        index = graph.dst
        shift = logits.new_full((graph.num_dst,), float("-inf")).scatter_reduce(
            0, index, logits.detach(), reduce="amax", include_self=True)
        exp = (logits - shift[index]).exp()
        total = logits.new_zeros(graph.num_dst).index_add(0, index, exp)
        return exp / total[index]
