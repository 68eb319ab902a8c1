"""BPR matrix factorisation: the graph-free baseline every graph model must beat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import nn

from kgrec.interfaces import Embeddings, Recommender, Setup, View
from kgrec.graph.graph import bipartite_graph


@dataclass
class MFConfig:
    dim: int = 64
    """Embedding size."""
    reg: float = 1e-4
    """L2 weight (where: ``reg_on``)."""
    reg_on: Literal["input", "tables"] = "input"
    """``input``: the batch's rows of the input embeddings, ``sum ||.||^2 / 2B``; ``tables``:
    ``||E_u||^2 + ||E_i||^2`` over the whole own tables, every step (DiffMM's reference)."""

    def __post_init__(self) -> None:
        if self.dim < 1 or self.reg < 0:
            raise ValueError("dim must be >= 1 and reg >= 0")


class MF(Recommender):
    """Free user and item embeddings scored by dot product (Rendle et al., UAI 2009).

    ``encode`` returns the view's inputs unchanged, so an augmenter that supplies item
    inputs (DiffKG's KG encoder) feeds MF exactly as it feeds LightGCN.
    """

    Config = MFConfig
    search_space = {"reg": {"low": 1e-6, "high": 1e-2, "log": True}}

    def __init__(self, config: MFConfig, setup: Setup):
        super().__init__(config, setup)
        self.user_emb = nn.Embedding(setup.data.num_users, config.dim)
        self.item_emb = nn.Embedding(setup.data.num_items, config.dim)
        nn.init.xavier_uniform_(self.user_emb.weight)
        nn.init.xavier_uniform_(self.item_emb.weight)
        # MF never propagates; the graph is there so augmenters can encode other views.
        self._graph = bipartite_graph(setup.train_users, setup.train_items,
                                      setup.data.num_users, setup.data.num_items, self_loops=True)

    def view(self) -> View:
        return View(self._graph, self.user_emb.weight, self.item_emb.weight)

    def encode(self, view: View) -> Embeddings:
        return Embeddings(view.users, view.items)
