"""DGL kernels (gspmm / gsddmm / edge_softmax). The only module that imports dgl."""

from __future__ import annotations

import os
import weakref

os.environ.setdefault("DGLBACKEND", "pytorch")

import dgl  # noqa: E402
import dgl.ops  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402

from kgrec.graph.graph import Graph  # noqa: E402


class DGLOps:
    """:class:`~kgrec.graph.ops.GraphOps` on DGL's fused sparse kernels."""

    name = "dgl"

    def __init__(self) -> None:
        self._graphs: "weakref.WeakKeyDictionary[Graph, dgl.DGLGraph]" = weakref.WeakKeyDictionary()

    def _dgl(self, graph: Graph) -> "dgl.DGLGraph":
        g = self._graphs.get(graph)
        if g is None:
            g = dgl.heterograph(
                {("src", "edge", "dst"): (graph.src, graph.dst)},
                num_nodes_dict={"src": graph.num_src, "dst": graph.num_dst},
                idtype=torch.int64, device=graph.device)
            self._graphs[graph] = g
        return g

    def spmm(self, graph: Graph, x: Tensor, weight: Tensor | None = None) -> Tensor:
        w = weight if weight is not None else graph.weight
        g = self._dgl(graph)
        if w is None:
            return dgl.ops.copy_u_sum(g, x)
        return dgl.ops.u_mul_e_sum(g, x, w.view(-1, *([1] * (x.dim() - 1))).to(x.dtype))

    def sddmm(self, graph: Graph, a: Tensor, b: Tensor) -> Tensor:
        return dgl.ops.u_dot_v(self._dgl(graph), a, b).view(-1)

    def edge_softmax(self, graph: Graph, logits: Tensor) -> Tensor:
        return dgl.ops.edge_softmax(self._dgl(graph), logits.view(-1, 1)).view(-1)
