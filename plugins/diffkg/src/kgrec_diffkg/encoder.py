"""DiffKG's KG encoder: relation-aware graph attention over typed KG edges, on GraphOps.

Per hop, for an edge from tail ``t`` to head ``h`` with relation ``r``:

.. math::

    a_{hrt} = \\mathrm{softmax}_{t \\in N(h)}\\big(\\mathrm{LeakyReLU}_{0.2}(
              \\langle W [e_h \\| e_t], e_r \\rangle)\\big), \\qquad
    e_h' = \\mathrm{normalize}\\big(\\mathrm{dropout}(e_h + \\textstyle\\sum_t a_{hrt} e_t)\\big)

and the output accumulates ``out = res_lambda * out + e'`` after every hop.
``W [e_h || e_t]`` is computed as ``e_h W_h + e_t W_t`` on nodes, not on edges (same value,
E x d x d work instead of edges x 2d x d).

Reference code: ``RGAT`` in HKUDS/DiffKG ``Model.py`` (torch_scatter softmax/sum over heads);
here the softmax and the weighted sum are :meth:`GraphOps.edge_softmax` and
:meth:`GraphOps.spmm`, so the DGL and torch backends give the same output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kgrec import Graph, GraphOps


class KGEncoder(nn.Module):
    """Entity and relation tables plus the attention weight ``W``; output ``(E, d)``.

    Shapes: graph over ``num_entities`` nodes with ``etype`` in ``0..num_relations-1``.
    """

    def __init__(self, num_entities: int, num_relations: int, dim: int, hops: int,
                 mess_dropout: float, res_lambda: float):
        super().__init__()
        self.dim = dim
        self.hops = hops
        self.res_lambda = res_lambda
        self.entity = nn.Parameter(nn.init.xavier_uniform_(torch.empty(num_entities, dim)))
        self.relation = nn.Parameter(nn.init.xavier_uniform_(torch.empty(num_relations, dim)))
        self.weight = nn.Parameter(nn.init.xavier_uniform_(
            torch.empty(2 * dim, dim), gain=nn.init.calculate_gain("relu")))
        self.dropout = nn.Dropout(mess_dropout)

    def attention(self, ops: GraphOps, graph: Graph, x: Tensor) -> Tensor:
        """Per-edge attention weights, softmax-normalised over each head's incoming edges."""
        head_part = x @ self.weight[: self.dim]
        tail_part = x @ self.weight[self.dim:]
        query = head_part[graph.dst] + tail_part[graph.src]
        logits = F.leaky_relu((query * self.relation[graph.etype]).sum(-1), 0.2)
        return ops.edge_softmax(graph, logits)

    def forward(self, ops: GraphOps, graph: Graph) -> Tensor:
        x = self.entity
        out = x
        for _ in range(self.hops):
            x = ops.spmm(graph, x, weight=self.attention(ops, graph, x)) + x
            x = F.normalize(self.dropout(x), dim=-1)
            out = self.res_lambda * out + x
        return out
