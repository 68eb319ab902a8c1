"""The weighted GCN of RecDiff (Li et al., CIKM 2024) on the user-item graph.

Unlike LightGCN it keeps a learnable square weight per layer and a LeakyReLU, and sums
L2-normalised layer outputs with the input embedding. It is RecDiff's collaborative
encoder, so ``--augmenter recdiff --recommender gcn`` is the paper's model, and
``--augmenter none --recommender gcn`` is its "-S" (no social) ablation.

Reference code: HKUDS/RecDiff ``models/model.py`` (``GCNLayer``, ``GCNModel``) and the BPR +
L2 loss in ``main.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kgrec.graph.graph import bipartite_graph
from kgrec.interfaces import Batch, Embeddings, Recommender, Setup, View
from kgrec.nn.losses import bpr_loss
from kgrec.nn.propagation import split_nodes


@dataclass
class GCNConfig:
    dim: int = 64
    """Embedding size (RecDiff's ``n_hid``)."""
    layers: int = 2
    """GCN layers on the user-item graph (``n_layers``)."""
    reg: float = 1e-4
    """L2 weight: ``reg * (|u|^2 + |i+|^2 + |i-|^2) / B``, no 1/2 (the reference's form)."""
    reg_on: Literal["output", "input", "tables"] = "output"
    """``output``: regularise the scored (propagated, augmenter-refined) embeddings, as
    RecDiff's reference does; ``input``: the layer-0 embeddings, as LightGCN does; ``tables``:
    ``reg * (||E_u||^2 + ||E_i||^2)`` over the whole own tables, every step (DiffMM's reference)."""
    weight: bool = True
    """Learnable square weight per layer (``--weight``); off gives an activated LightGCN."""
    separate_weights: bool = True
    """One weight for user nodes and one for item nodes per layer (the reference's
    ``u_w`` / ``v_w``); off shares one weight."""
    negative_slope: float = 0.5
    """LeakyReLU slope after each layer."""

    def __post_init__(self) -> None:
        if self.dim < 1 or self.layers < 0 or self.reg < 0:
            raise ValueError("dim must be >= 1, layers >= 0, reg >= 0")


class GCN(Recommender):
    """Weighted, activated graph convolution with normalised-layer sum.

    .. math::
        H^{(l+1)} = \\sigma\\big(\\hat A\\, [H_u^{(l)} W_u^{(l)}; H_i^{(l)} W_i^{(l)}]\\big),
        \\quad E = E^{(0)} + \\sum_{l=1}^{L} \\frac{H^{(l)}}{\\lVert H^{(l)} \\rVert_2}

    with :math:`\\hat A = D^{-1/2} A D^{-1/2}` over the bipartite graph (no self-loops) and
    :math:`\\sigma` = LeakyReLU(0.5). The next layer takes the activated, un-normalised
    :math:`H^{(l)}`; only the sum uses the row-normalised outputs.

    Shapes: view.users ``(U, d)``, view.items ``(I, d)``; out the same.
    """

    Config = GCNConfig
    search_space = {"layers": {"low": 1, "high": 4}, "reg": {"low": 1e-6, "high": 1e-2, "log": True}}
    supports_layer_graph = True

    def __init__(self, config: GCNConfig, setup: Setup):
        super().__init__(config, setup)
        data = setup.data
        self.num_users = data.num_users
        self.user_emb = nn.Embedding(data.num_users, config.dim)
        self.item_emb = nn.Embedding(data.num_items, config.dim)
        nn.init.xavier_uniform_(self.user_emb.weight)
        nn.init.xavier_uniform_(self.item_emb.weight)
        kinds = 2 if config.separate_weights else 1
        self.weights = nn.ParameterList()
        if config.weight:
            for _ in range(config.layers * kinds):
                w = nn.Parameter(torch.empty(config.dim, config.dim))
                nn.init.xavier_uniform_(w)
                self.weights.append(w)
        self._graph = bipartite_graph(setup.train_users, setup.train_items,
                                      data.num_users, data.num_items, self_loops=False)

    def view(self) -> View:
        return View(self._graph, self.user_emb.weight, self.item_emb.weight)

    def _transform(self, layer: int, users: Tensor, items: Tensor) -> Tensor:
        if not self.config.weight:
            return torch.cat([users, items])
        if self.config.separate_weights:
            w_user, w_item = self.weights[2 * layer], self.weights[2 * layer + 1]
        else:
            w_user = w_item = self.weights[layer]
        return torch.cat([users @ w_user, items @ w_item])

    def encode(self, view: View) -> Embeddings:
        ops = self.setup_info.ops
        h = torch.cat([view.users, view.items])
        total = h
        for layer in range(self.config.layers):
            graph = view.graph if view.layer_graph is None else view.layer_graph(layer, h)
            users, items = split_nodes(h, self.num_users)
            h = F.leaky_relu(ops.spmm(graph, self._transform(layer, users, items)),
                             self.config.negative_slope)
            total = total + F.normalize(h, p=2, dim=1)
        users, items = split_nodes(total, self.num_users)
        return Embeddings(users, items)

    def loss(self, emb: Embeddings, batch: Batch, view: View) -> dict[str, Tensor]:
        """BPR plus ``reg * (|u|^2 + |i+|^2 + |i-|^2) / B`` on the chosen embeddings, or
        ``reg * table_l2()`` with ``reg_on = "tables"``."""
        u = emb.users[batch.users]
        pos = emb.items[batch.pos_items]
        neg = emb.items[batch.neg_items]
        terms = {"bpr": bpr_loss((u * pos).sum(-1), (u * neg).sum(-1))}
        if self.config.reg > 0 and self.config.reg_on == "tables":
            terms["reg"] = self.config.reg * self.table_l2()
        elif self.config.reg > 0:
            if self.config.reg_on == "input":
                u, pos, neg = (view.users[batch.users], view.items[batch.pos_items],
                               view.items[batch.neg_items])
            squares = u.pow(2).sum() + pos.pow(2).sum() + neg.pow(2).sum()
            terms["reg"] = self.config.reg * squares / max(batch.users.shape[0], 1)
        return terms
