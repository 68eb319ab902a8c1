"""AdaptiveGCL as a kgrec augmenter: two trained view generators around any layer-wise backbone.

Jiang, Huang and Xia, "Adaptive Graph Contrastive Learning for Recommendation" (KDD 2023).
Reference code: SSLRec ``models/general_cf/adagcl.py`` and ``AdaGCLTrainer`` in ``trainer.py``.

How the reference's step maps onto kgrec's hooks (everything happens in :meth:`AdaGCL.loss`,
which the trainer calls once per batch, inside one backward and one Adam step):

- generative view: the VGAE encodes the backbone's propagated embeddings of this step
  (``emb``, detached), decodes every training edge and keeps those with p >= 0.5;
  ``ctx.encode`` runs the backbone over that graph.
- denoising view: ``ctx.encode`` over the base view with ``View.layer_graph`` set, so the
  backbone propagates each layer over edges gated from that layer's input (no gradient to
  the gates).
- ``cl``: InfoNCE between the two views' rows of the batch's users and positive items.
- ``ib``: InfoNCE of each view against its own value at the previous optimiser step (the
  reference takes the value before its contrastive step, within the same batch).
- the backbone's own BPR + reg comes from the recommender, as for every augmenter.
- ``generative`` and ``denoising``: the generators' own losses. Their inputs are detached
  and the views they emit carry no gradient, so these terms train only the generators and
  the terms above train only the backbone: one Adam over both parameter groups (the
  generators' with ``generator_lr``) steps each on its own loss, as the reference's three
  optimisers do (Adam's state is per parameter).

The reference instead takes three optimiser steps per batch (contrast, bottleneck, then
BPR + generators); here the batch's terms share one step.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from kgrec import (Batch, ConfigError, Context, Embeddings, GraphAugmenter, PluginError,
                   Recommender, Setup, bpr_loss, info_nce, join_nodes)
from kgrec_adagcl.config import PRESETS, AdaGCLConfig
from kgrec_adagcl.denoising import EdgeGates
from kgrec_adagcl.generative import GenerativeView


class AdaGCL(GraphAugmenter):
    """Adaptive contrastive views: a VGAE-generated graph and a learned-gate denoised graph."""

    Config = AdaGCLConfig
    presets = PRESETS
    search_space = {"cl_weight": {"low": 1e-3, "high": 1.0, "log": True},
                    "ib_weight": {"low": 1e-4, "high": 0.1, "log": True},
                    "temperature": {"low": 0.1, "high": 1.0}}
    """What ``kgrec tune`` searches by default (a TOML file overrides it)."""

    def __init__(self, config: AdaGCLConfig, setup: Setup):
        super().__init__(config, setup)
        dim = setup.embedding_dim
        self.num_users = setup.data.num_users
        nodes = setup.data.num_users + setup.data.num_items
        self.generative = GenerativeView(dim)
        self.denoising = EdgeGates(dim, config.layers, config.gamma, config.zeta)
        # Each view at the previous step, for the bottleneck term. Buffers, so a resumed run
        # continues exactly; they are not used at evaluation.
        self.register_buffer("previous_generative", torch.zeros(nodes, dim))
        self.register_buffer("previous_denoising", torch.zeros(nodes, dim))
        self.register_buffer("has_previous", torch.tensor(False))

    def bind(self, model: Recommender) -> None:
        name = type(model).__name__
        if not type(model).supports_layer_graph:
            raise PluginError(f"adagcl's denoising view gates every propagation layer, and {name} "
                              "does not honour View.layer_graph; pair adagcl with lightgcn or gcn")
        layers = getattr(model.config, "layers", None)
        if layers is not None and layers != self.config.layers:
            raise ConfigError(f"adagcl.layers={self.config.layers} but {name} propagates {layers} "
                              f"layers; set both to the same value")

    def param_groups(self) -> list[dict[str, Any]]:
        return [{"params": [p for p in self.parameters() if p.requires_grad],
                 "lr": self.config.generator_lr}]

    def loss(self, emb: Embeddings, batch: Batch, ctx: Context) -> dict[str, Tensor]:
        cfg = self.config
        base = ctx.base
        graph = base.graph
        terms: dict[str, Tensor] = {}

        z, mean, std = self.generative.encode(join_nodes(emb.users, emb.items).detach())
        if cfg.cl_weight > 0 or cfg.ib_weight > 0:
            rows = self._contrast_rows(batch)
            generated = self._nodes(ctx.encode(
                base.replace(graph=self.generative.view(graph, z.detach(), cfg.keep_threshold))))
            denoised = self._nodes(ctx.encode(base.replace(layer_graph=self.denoising.layer_graph(graph))))
            if cfg.cl_weight > 0:
                terms["cl"] = cfg.cl_weight * info_nce(generated[rows], denoised[rows], cfg.temperature)
            if cfg.ib_weight > 0:
                before_gen, before_den = ((self.previous_generative, self.previous_denoising)
                                          if bool(self.has_previous) else
                                          (generated.detach(), denoised.detach()))
                terms["ib"] = cfg.ib_weight * (
                    info_nce(generated[rows], before_gen[rows], cfg.temperature)
                    + info_nce(denoised[rows], before_den[rows], cfg.temperature))
            self.previous_generative = generated.detach().clone()
            self.previous_denoising = denoised.detach().clone()
            self.has_previous = torch.tensor(True, device=self.has_previous.device)

        terms["generative"] = self.generative.loss(z, mean, std, batch, self.num_users,
                                                   cfg.kl_weight, cfg.task_aware)
        terms["denoising"] = self._denoising_loss(base, batch, ctx)
        return terms

    def _denoising_loss(self, base, batch: Batch, ctx: Context) -> Tensor:
        """The gate networks' own loss: BPR through sampled gates on the backbone's (detached)
        layer-0 embeddings, plus ``lambda0`` x L0. Temperature decays per epoch."""
        cfg = self.config
        temperature = cfg.gate_temperature_at(ctx.epoch)
        x = join_nodes(base.users, base.items).detach()
        out, l0 = self.denoising.propagate(ctx.ops, base.graph, x, temperature)
        loss = cfg.lambda0 * l0
        if cfg.task_aware:
            u = out[batch.users]
            pos, neg = out[batch.pos_items + self.num_users], out[batch.neg_items + self.num_users]
            loss = loss + bpr_loss((u * pos).sum(-1), (u * neg).sum(-1))
        return loss

    def _contrast_rows(self, batch: Batch) -> Tensor:
        """Node rows the contrastive terms compare: the batch's users and positive items."""
        users, items = batch.users, batch.pos_items
        if self.config.contrast_unique:
            users, items = torch.unique(users), torch.unique(items)
        return torch.cat([users, items + self.num_users])

    @staticmethod
    def _nodes(emb: Embeddings) -> Tensor:
        return join_nodes(emb.users, emb.items)
