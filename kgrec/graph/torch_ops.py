"""Pure-torch kernels: CSR sparse matmul for fixed weights, scatter for learnable ones.

A graph with fixed weights is kept as a CSR matrix and as the CSR matrix of its transpose, and
propagation is one autograd function whose backward multiplies by the cached transpose:
on this project's CPU that is 4x faster, forward and backward together, than ``torch.sparse.mm``
on a COO matrix (whose backward transposes and coalesces the matrix on every call).
"""

from __future__ import annotations

import warnings
import weakref

import torch
from torch import Tensor

from kgrec.graph.graph import Graph


class _FixedSparseMatmul(torch.autograd.Function):
    """``adj @ x`` for a constant sparse ``adj``; the gradient is ``adj_t @ grad``."""

    @staticmethod
    def forward(ctx, x: Tensor, adj: Tensor, adj_t: Tensor) -> Tensor:  # type: ignore[override]
        ctx.adj_t = adj_t
        return adj @ x

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        return ctx.adj_t @ grad, None, None


class TorchOps:
    """:class:`~kgrec.graph.ops.GraphOps` on ``torch.sparse`` and ``index_add_``."""

    name = "torch"

    def __init__(self) -> None:
        # Per graph instance, built on first use: (num_dst x num_src CSR, its transpose as CSR).
        self._adjacency: "weakref.WeakKeyDictionary[Graph, tuple[Tensor, Tensor]]" = \
            weakref.WeakKeyDictionary()

    def _sparse(self, graph: Graph) -> tuple[Tensor, Tensor]:
        found = self._adjacency.get(graph)
        if found is None:
            weight = graph.weight if graph.weight is not None else torch.ones(
                graph.num_edges, device=graph.device)
            coo = torch.sparse_coo_tensor(torch.stack([graph.dst, graph.src]), weight.detach().float(),
                                          (graph.num_dst, graph.num_src)).coalesce()
            with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state"
                warnings.simplefilter("ignore", UserWarning)
                found = (coo.to_sparse_csr(), coo.t().coalesce().to_sparse_csr())
            self._adjacency[graph] = found
        return found

    def spmm(self, graph: Graph, x: Tensor, weight: Tensor | None = None) -> Tensor:
        if weight is None and (graph.weight is None or not graph.weight.requires_grad):
            adj, adj_t = self._sparse(graph)
            if x.dim() == 2:
                return _FixedSparseMatmul.apply(x, adj, adj_t)
            out = _FixedSparseMatmul.apply(x.reshape(x.shape[0], -1), adj, adj_t)
            return out.reshape((graph.num_dst,) + tuple(x.shape[1:]))
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
