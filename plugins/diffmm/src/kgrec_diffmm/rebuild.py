"""Sparse interaction rows, densified one batch at a time, and the modality-graph rebuild.

Reference code: ``Coach.trainEpoch`` (the rebuild after the denoisers' epoch),
``Coach.buildUIMatrix`` and ``SpAdjDropEdge`` in ``HKUDS/DiffMM``. The reference appends
every (user, item) pair in a Python double loop and densifies the whole U x I matrix once;
here the rows stay in CSR form and the graph is built with tensor operations.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kgrec import Graph, bipartite_graph


class InteractionRows:
    """The training matrix R (users x items, binary) in CSR form on ``device``.

    :meth:`dense` returns the rows of a batch of users as a dense ``(B, I)`` block, the
    only dense piece of R that ever exists.
    """

    def __init__(self, users: Tensor, items: Tensor, num_users: int, num_items: int):
        order = torch.argsort(users * num_items + items)
        users, items = users[order], items[order]
        counts = torch.bincount(users, minlength=num_users)
        self.indptr = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])
        self.indices = items
        self.num_users = num_users
        self.num_items = num_items

    def dense(self, batch_users: Tensor) -> Tensor:
        """Rows of ``batch_users`` as 0/1 floats. Shapes: ``(B,) -> (B, I)``."""
        starts = self.indptr[batch_users]
        counts = self.indptr[batch_users + 1] - starts
        total = int(counts.sum())
        out = torch.zeros(batch_users.shape[0], self.num_items, device=self.indices.device)
        if total == 0:
            return out
        row = torch.repeat_interleave(torch.arange(batch_users.shape[0], device=counts.device), counts)
        first = torch.cumsum(counts, 0) - counts  # where each batch row's run starts in `row`
        position = torch.arange(total, device=counts.device) - first[row] + starts[row]
        out[row, self.indices[position]] = 1.0
        return out


def top_k_items(scores: Tensor, k: int) -> Tensor:
    """Indices of the ``k`` best items of each row. Shapes: ``(B, I) -> (B, k)``."""
    return torch.topk(scores, k=min(k, scores.shape[1]), dim=1).indices


def modality_graph(users: Tensor, items: Tensor, num_users: int, num_items: int) -> Graph:
    """The normalised bipartite graph ``D^-1/2 (A + I) D^-1/2`` over chosen (user, item) pairs.

    As ``buildUIMatrix``: binary entries, both directions, self-loops on every node.
    Pairs must be unique (top-k indices of a row are).
    """
    return bipartite_graph(users, items, num_users, num_items, self_loops=True)


def drop_edges(graph: Graph, keep_rate: float, generator: torch.Generator) -> Graph:
    """Keep each edge (self-loops included) with probability ``keep_rate``, scaling kept
    weights by ``1 / keep_rate`` (``SpAdjDropEdge``). ``keep_rate = 1`` returns ``graph``."""
    if keep_rate >= 1.0:
        return graph
    draw = torch.rand(graph.num_edges, generator=generator).to(graph.device)
    keep = draw < keep_rate
    weight = graph.weight[keep] / keep_rate
    return Graph(graph.src[keep], graph.dst[keep], graph.num_src, graph.num_dst, weight)


def rebuild_graph(top_items: Tensor, batch_users: Tensor, num_users: int, num_items: int,
                  keep_rate: float, generator: torch.Generator) -> Graph:
    """From every user's top items ``(U', k)`` for users ``(U',)`` to the dropped-out graph."""
    users = batch_users.repeat_interleave(top_items.shape[1])
    graph = modality_graph(users, top_items.reshape(-1), num_users, num_items)
    return drop_edges(graph, keep_rate, generator)
