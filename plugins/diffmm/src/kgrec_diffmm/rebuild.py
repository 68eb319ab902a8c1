"""The modality-graph rebuild: from each user's top items to a normalised, dropped-out graph.

Reference code: ``Coach.trainEpoch`` (the rebuild after the denoisers' epoch),
``Coach.buildUIMatrix`` and ``SpAdjDropEdge`` in ``HKUDS/DiffMM``. The reference appends
every (user, item) pair in a Python double loop and densifies the whole U x I matrix once;
here the rows stay sparse (:class:`kgrec.diffusion.SparseRows`) and the graph is built with
tensor operations.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kgrec import Graph, bipartite_graph


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
