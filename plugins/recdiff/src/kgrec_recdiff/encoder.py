"""The social GCN: user embeddings propagated over the trust graph.

Reference code: HKUDS/RecDiff ``models/model.py`` (``UUGCNLayer`` and the ``uu_Layers`` loop
of ``GCNModel.forward``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kgrec import Graph, GraphOps, SocialGraph, symmetric_normalized

Direction = Literal["both", "as_given", "reverse"]


def social_graph(social: SocialGraph, num_users: int, direction: Direction,
                 device: torch.device) -> Graph:
    """The normalised user-user graph ``D_in^-1/2 S D_out^-1/2`` (no self-loops).

    Messages flow along the stored ties (trustor -> trustee) with ``as_given`` (what the
    reference's ``dgl.from_scipy(trust)`` does), against them with ``reverse`` (each user
    hears from the users it trusts), or both ways with ``both``. Duplicate ties are merged.
    """
    src = np.asarray(social.src, dtype=np.int64)
    dst = np.asarray(social.dst, dtype=np.int64)
    if direction == "reverse":
        src, dst = dst, src
    elif direction == "both":
        src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
    elif direction != "as_given":
        raise ValueError(f"unknown social direction {direction!r}")
    keep = src != dst
    keys = np.unique(src[keep] * num_users + dst[keep])
    src_t = torch.as_tensor(keys // num_users, device=device)
    dst_t = torch.as_tensor(keys % num_users, device=device)
    return symmetric_normalized(Graph(src_t, dst_t, num_users, num_users))


class SocialGCN(nn.Module):
    """``s = e^0 + sum_l normalize(h^l)``, ``h^{l+1} = LeakyReLU(S_hat h^l W^l)``.

    Users without ties receive no message, so their ``h^l`` is zero and ``s = e^0``.

    Shapes: users ``(U, d)`` -> ``(U, d)``.
    """

    def __init__(self, dim: int, layers: int, weight: bool = True, negative_slope: float = 0.5):
        super().__init__()
        self.layers = layers
        self.negative_slope = negative_slope
        self.weights = nn.ParameterList()
        if weight:
            for _ in range(layers):
                w = nn.Parameter(torch.empty(dim, dim))
                nn.init.xavier_uniform_(w)
                self.weights.append(w)

    def forward(self, ops: GraphOps, graph: Graph, users: Tensor) -> Tensor:
        total = users
        h = users
        for layer in range(self.layers):
            if len(self.weights):
                h = h @ self.weights[layer]
            h = F.leaky_relu(ops.spmm(graph, h), self.negative_slope)
            total = total + F.normalize(h, p=2, dim=1)
        return total
