"""The graph layer: an immutable COO :class:`Graph` and two kernel backends behind
:class:`GraphOps` (DGL where usable, pure torch everywhere)."""

from kgrec.graph.graph import Graph, bipartite_graph, symmetric_normalized
from kgrec.graph.ops import BackendChoice, GraphOps, select_ops

__all__ = ["BackendChoice", "Graph", "GraphOps", "bipartite_graph", "select_ops",
           "symmetric_normalized"]
