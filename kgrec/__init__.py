"""kgrec: a pluggable graph-recommendation toolkit with diffusion-model graph augmenters.

Run a model from Python::

    import kgrec
    result = kgrec.run({"augmenter": "diffkg", "recommender": "lightgcn",
                        "train": {"epochs": 5}}, out="runs/first")
    print(result.test["recall@20"])
    trained = kgrec.load("runs/first")          # model and augmenter at the selected epoch

This module's ``__all__`` is the public API that plugins may import, together with the
public modules ``kgrec.diffusion`` and ``kgrec.testing``; every other module is private and
may change without notice (docs/plugins.md, docs/architecture.md).
"""

import os

# Idle OpenMP threads sleep instead of spinning, unless the user chose otherwise. With torch's
# default spinning, each op waits for a descheduled sibling thread whenever anything else runs
# on the machine: epochs measured 10-60x slower on a shared 2-core VM (docs/benchmarks.md).
# It must be set before torch starts its OpenMP runtime, so it has no effect if torch was
# imported first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from kgrec.config import EvalConfig, RunConfig, SplitConfig, TrainConfig
from kgrec.data.recdata import Interactions, KnowledgeGraph, RecData, SocialGraph
from kgrec.diffusion import Denoiser, DiffusionConfig, GaussianDiffusion, RowDiffusion, SparseRows
from kgrec.errors import ConfigError, DataError, KgrecError, MissingDataError, PluginError
from kgrec.experiment import RunResult, TrainedRun, load, resolve_config, resume, run
from kgrec.graph.graph import Graph, bipartite_graph, symmetric_normalized
from kgrec.graph.ops import GraphOps, select_ops
from kgrec.interfaces import (Batch, Context, Embeddings, GraphAugmenter, Recommender, Setup,
                              View)
from kgrec.memory import MemoryWarning, fit_batch_size
from kgrec.nn.losses import bpr_loss, info_nce, l2_penalty
from kgrec.nn.propagation import join_nodes, light_propagate, split_nodes

__version__ = "0.1.0"

__all__ = [
    "Batch", "ConfigError", "Context", "DataError", "Denoiser", "DiffusionConfig", "Embeddings",
    "EvalConfig", "GaussianDiffusion", "Graph", "GraphAugmenter", "GraphOps", "Interactions",
    "KgrecError", "KnowledgeGraph", "MemoryWarning", "MissingDataError", "PluginError", "RecData",
    "Recommender", "RowDiffusion", "RunConfig", "RunResult", "Setup", "SocialGraph",
    "SparseRows", "SplitConfig", "TrainConfig", "TrainedRun", "View", "bipartite_graph",
    "bpr_loss", "fit_batch_size", "info_nce", "join_nodes", "l2_penalty", "light_propagate",
    "load", "resolve_config", "resume", "run", "select_ops", "split_nodes",
    "symmetric_normalized",
]
