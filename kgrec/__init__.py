"""kgrec: a pluggable graph-recommendation toolkit with diffusion-model graph augmenters.

This module's ``__all__`` is the public API that plugins may import, together with the
public modules ``kgrec.diffusion`` and ``kgrec.testing``; every other module is private by
convention and may change without notice (docs/plugins.md).
"""

from kgrec.config import EvalConfig, RunConfig, SplitConfig, TrainConfig
from kgrec.data.recdata import Interactions, KnowledgeGraph, RecData, SocialGraph
from kgrec.diffusion import Denoiser, DiffusionConfig, GaussianDiffusion
from kgrec.errors import ConfigError, DataError, KgrecError, MissingDataError, PluginError
from kgrec.graph.graph import Graph, bipartite_graph, symmetric_normalized
from kgrec.graph.ops import GraphOps, select_ops
from kgrec.interfaces import (Batch, Context, Embeddings, GraphAugmenter, Recommender, Setup,
                              View)
from kgrec.nn.losses import bpr_loss, info_nce, l2_penalty
from kgrec.nn.propagation import join_nodes, light_propagate, split_nodes

__version__ = "0.1.0"

__all__ = [
    "Batch", "ConfigError", "Context", "DataError", "Denoiser", "DiffusionConfig", "Embeddings",
    "EvalConfig", "GaussianDiffusion", "Graph",
    "GraphAugmenter", "GraphOps", "Interactions", "KgrecError", "KnowledgeGraph",
    "MissingDataError", "PluginError", "RecData", "Recommender", "RunConfig", "Setup",
    "SocialGraph", "SplitConfig", "TrainConfig", "View", "bipartite_graph", "bpr_loss",
    "info_nce", "join_nodes", "l2_penalty", "light_propagate", "select_ops", "split_nodes",
    "symmetric_normalized",
]
