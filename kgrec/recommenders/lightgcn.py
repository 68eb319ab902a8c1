"""LightGCN (He et al., SIGIR 2020) as the three papers' references run it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import nn

from kgrec.graph.graph import bipartite_graph
from kgrec.interfaces import Embeddings, Recommender, Setup, View
from kgrec.nn.propagation import join_nodes, light_propagate, split_nodes


@dataclass
class LightGCNConfig:
    dim: int = 64
    """Embedding size."""
    layers: int = 2
    """Propagation layers L."""
    reg: float = 1e-4
    """L2 weight (where: ``reg_on``)."""
    reg_on: Literal["input", "tables"] = "input"
    """``input``: the batch's rows of the layer-0 inputs, ``sum ||.||^2 / 2B`` (LightGCN's
    reference; with an augmenter that replaces the inputs, such as DiffMM, those inputs);
    ``tables``: ``||E_u||^2 + ||E_i||^2`` over the whole own tables, every step (DiffMM's
    reference)."""
    self_loops: bool = True
    """Add self-loops before normalising, as the reference code does (the paper does not)."""

    def __post_init__(self) -> None:
        if self.dim < 1 or self.layers < 0 or self.reg < 0:
            raise ValueError("dim must be >= 1, layers >= 0, reg >= 0")


class LightGCN(Recommender):
    """Propagate ``[users; items]`` over ``D^-1/2 (A + I) D^-1/2`` and sum the layers.

    .. math:: E = \\sum_{l=0}^{L} \\hat A^l E^{(0)}, \\quad s(u, i) = e_u^\\top e_i

    The references sum the layer outputs rather than averaging them; so does this.
    """

    Config = LightGCNConfig
    search_space = {"layers": {"low": 1, "high": 4}, "reg": {"low": 1e-6, "high": 1e-2, "log": True}}
    supports_layer_graph = True

    def __init__(self, config: LightGCNConfig, setup: Setup):
        super().__init__(config, setup)
        data = setup.data
        self.num_users = data.num_users
        self.user_emb = nn.Embedding(data.num_users, config.dim)
        self.item_emb = nn.Embedding(data.num_items, config.dim)
        nn.init.xavier_uniform_(self.user_emb.weight)
        nn.init.xavier_uniform_(self.item_emb.weight)
        self._graph = bipartite_graph(setup.train_users, setup.train_items,
                                      data.num_users, data.num_items, self_loops=config.self_loops)

    def view(self) -> View:
        return View(self._graph, self.user_emb.weight, self.item_emb.weight)

    def encode(self, view: View) -> Embeddings:
        ops = self.setup_info.ops
        out = light_propagate(ops, view.graph, join_nodes(view.users, view.items), self.config.layers,
                              layer_graph=view.layer_graph)
        users, items = split_nodes(out, self.num_users)
        return Embeddings(users, items)
