"""DiffMM (Jiang et al., ACM MM 2024) as a kgrec augmenter: multi-modal graph diffusion.

How the reference's one model maps onto the seam (see ``interfaces.py``):

- ``fit_epoch``: train one denoiser per modality over users' interaction rows (the core's
  :class:`~kgrec.diffusion.RowDiffusion`, one channel per modality; diffusion loss +
  ``e_loss`` x modality alignment, own Adam declared in ``optimizers``), then rebuild each
  modality's user-item graph from the denoised rows (top ``rebuild_k`` items per user,
  normalised, dropped out).
- ``transform``: the backbone's input becomes the fused modal embedding ``M`` built from its
  own id tables (``view.users`` / ``view.items``) and the projected modality features.
- ``refine``: add ``ris_lambda * normalise(M)`` to the backbone's output, reading ``M`` back
  from the step's transformed view (``ctx.view``).
- ``loss``: cross-modal InfoNCE over per-modality views encoded by the backbone
  (``ctx.encode``), pairwise (``cl_method 0``) or against the main embedding (``1``).

The rebuilt graphs are needed at test time, so they travel in the module's extra state and
the validation-selected checkpoint restores them.

Reference code: ``HKUDS/DiffMM`` (``Main.py``, ``Model.py``, ``Params.py``).
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from kgrec import (Batch, Context, Embeddings, Graph, GraphAugmenter, PluginError, Recommender,
                   Setup, View)
from kgrec.diffusion import RowDiffusion, SparseRows

from kgrec_diffmm.config import PRESETS, DiffMMConfig
from kgrec_diffmm.encoder import contrast_loss, fused_embedding, view_inputs
from kgrec_diffmm.features import Modalities
from kgrec_diffmm.generator import objective
from kgrec_diffmm.rebuild import modality_graph, rebuild_graph


class DiffMM(GraphAugmenter):
    """Multi-modal graph diffusion around any backbone; modalities come from the data."""

    Config = DiffMMConfig
    requires = frozenset({"modalities"})
    presets = PRESETS
    search_space = {"keep_rate": {"low": 0.1, "high": 1.0}, "ssl_reg": {"low": 1e-3, "high": 1.0, "log": True},
                    "temp": {"low": 0.05, "high": 1.0, "log": True}, "ris_lambda": {"low": 0.0, "high": 1.0},
                    "ris_adj_lambda": {"low": 0.0, "high": 1.0}, "e_loss": {"low": 0.0, "high": 1.0}}
    """What ``kgrec tune`` searches by default (a TOML file overrides it)."""

    def __init__(self, config: DiffMMConfig, setup: Setup):
        super().__init__(config, setup)
        data = setup.data
        self.num_users, self.num_items = data.num_users, data.num_items
        self.modalities = Modalities(data.modalities, setup.embedding_dim, config.trans, setup.device)
        self.names = self.modalities.names
        # DiffMM's own main graph, as its reference builds it: D^-1/2 (A + I) D^-1/2.
        self.main_graph = modality_graph(setup.train_users, setup.train_items,
                                         self.num_users, self.num_items)
        self.rows = SparseRows(setup.train_users, setup.train_items, self.num_users, self.num_items)
        self.train_keys = setup.train_users * self.num_items + setup.train_items
        self.denoising = (RowDiffusion(config.diffusion, self.num_items, channels=self.names,
                                       owner="diffmm.diffusion")
                          if config.modal_graphs == "generated" else None)
        # Until the first rebuild, and always without diffusion, the original graph stands in.
        self.graphs: dict[str, Graph] = {name: self.main_graph for name in self.names}
        if config.contrast and config.cl_method == 0 and len(self.names) < 2:
            warnings.warn("diffmm: cl_method 0 contrasts modality pairs, and this dataset has one "
                          "modality, so there is no contrastive loss", stacklevel=2)

    def bind(self, model: Recommender) -> None:
        if model.embedding_dim != self.setup_info.embedding_dim:
            raise PluginError(f"diffmm projects features to {self.setup_info.embedding_dim} dims but "
                              f"the backbone's embeddings have {model.embedding_dim}")

    def optimizers(self) -> Mapping[str, Any]:
        """The denoisers' own Adam; projections and fusion weights train with the backbone."""
        return {"denoisers": self.denoising.optimizer} if self.denoising is not None else {}

    # ----------------------------------------------------------------- per epoch

    def fit_epoch(self, ctx: Context) -> dict[str, float]:
        if self.denoising is None:
            return {}
        cfg = self.config
        with torch.no_grad():
            features = {name: self.modalities.project(name) for name in self.names}
            item_emb = ctx.base.items.detach()
        e_loss = cfg.e_loss if cfg.alignment else 0.0
        stats = self.denoising.train_epoch(self.rows, ctx.generator,
                                           objective(features, item_emb, e_loss))
        self.graphs = self.rebuild(ctx.generator)
        for name, graph in self.graphs.items():
            stats.update(self.graph_health(name, graph))
        return stats

    def graph_health(self, name: str, graph: Graph) -> dict[str, float]:
        """``graph_<modality>_edges`` (user-item pairs of the rebuilt graph), ``_kept`` (the
        share of training interactions among them) and ``_new`` (the share of them that are
        not training interactions)."""
        U, I = self.num_users, self.num_items
        user_item = (graph.src < U) & (graph.dst >= U)
        keys = graph.src[user_item] * I + (graph.dst[user_item] - U)
        known = torch.isin(keys, self.train_keys)
        pairs = int(keys.shape[0])
        return {f"graph_{name}_edges": float(pairs),
                f"graph_{name}_kept": float(known.sum()) / max(int(self.train_keys.shape[0]), 1),
                f"graph_{name}_new": float((~known).sum()) / max(pairs, 1)}

    def rebuild(self, generator: torch.Generator) -> dict[str, Graph]:
        """Each modality's graph from its denoiser: every user's row denoised (no input
        dropout), its top ``rebuild_k`` items kept, normalised, edges dropped at ``keep_rate``."""
        cfg = self.config
        tops = self.denoising.top_k(self.rows, cfg.rebuild_k, generator)
        users = torch.arange(self.num_users, device=self.main_graph.device)
        return {name: rebuild_graph(tops[name], users, self.num_users, self.num_items,
                                    cfg.keep_rate, generator)
                for name in self.names}

    # ----------------------------------------------------------------- per step

    def features(self, ctx: Context) -> dict[str, Tensor]:
        """Each modality's projected item features, ``(I, d)``, computed once per step."""
        return ctx.cached("diffmm.features", lambda: {name: self.modalities.project(name)
                                                      for name in self.names})

    def transform(self, view: View, ctx: Context) -> View:
        fused = fused_embedding(ctx.ops, self.main_graph, self.graphs, view.users, view.items,
                                self.features(ctx), self.modalities.weights(),
                                self.config.ris_adj_lambda)
        return view.replace(users=fused[:self.num_users], items=fused[self.num_users:])

    def refine(self, emb: Embeddings, ctx: Context) -> Embeddings:
        """Add ``ris_lambda * normalise(M)``; ``M`` is this step's fused input (``ctx.view``)."""
        if self.config.ris_lambda == 0:
            return emb
        if ctx.view is None:
            raise PluginError("diffmm.refine reads the fused input from ctx.view; set ctx.view to "
                              "what transform returned (the trainer does)")
        lam = self.config.ris_lambda
        return Embeddings(emb.users + lam * F.normalize(ctx.view.users, dim=1),
                          emb.items + lam * F.normalize(ctx.view.items, dim=1))

    def modality_views(self, ctx: Context) -> list[Embeddings]:
        """Each modality's contrastive view, encoded by the backbone (any backbone)."""
        base = ctx.base
        views = []
        for name, feats in self.features(ctx).items():
            graph = self.graphs[name]
            if self.config.cl_view == "reference":
                h = view_inputs(ctx.ops, graph, base.users, feats)
                view = base.replace(users=h[:self.num_users], items=h[self.num_users:])
            else:
                view = View(graph, base.users, F.normalize(feats, dim=1))
            views.append(ctx.encode(view))
        return views

    def loss(self, emb: Embeddings, batch: Batch, ctx: Context) -> dict[str, Tensor]:
        cfg = self.config
        if not cfg.contrast or cfg.ssl_reg == 0:
            return {}
        views = self.modality_views(ctx)
        if cfg.cl_method == 1:
            pairs = [(emb, view) for view in views]
        else:
            pairs = list(itertools.combinations(views, 2))
        if not pairs:
            return {}
        total = sum(contrast_loss(a.users, b.users, batch.users, cfg.temp)
                    + contrast_loss(a.items, b.items, batch.pos_items, cfg.temp) for a, b in pairs)
        return {"contrast": cfg.ssl_reg * total}

    # ----------------------------------------------------------------- checkpointing

    def get_extra_state(self) -> dict[str, Any]:
        """The rebuilt modality graphs (absent = the original graph), for the checkpoint."""
        return {name: {"src": g.src, "dst": g.dst, "weight": g.weight}
                for name, g in self.graphs.items() if g is not self.main_graph}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        unknown = set(state) - set(self.names)
        if unknown:
            raise PluginError(f"diffmm checkpoint has graphs for modalities {sorted(unknown)} "
                              f"that this dataset lacks (it has {self.names})")
        device = self.main_graph.device
        n = self.num_users + self.num_items
        self.graphs = {name: self.main_graph for name in self.names}
        for name, parts in state.items():
            self.graphs[name] = Graph(parts["src"].to(device), parts["dst"].to(device), n, n,
                                      parts["weight"].to(device))
