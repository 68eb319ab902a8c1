"""DiffKG (Jiang et al., WSDM 2024) as a kgrec augmenter, around any backbone.

- :meth:`DiffKG.transform`: item inputs = the KG encoder's rows for the items' entities
  (the augmenter owns the entity table; items without an entity keep the backbone's own).
- :meth:`DiffKG.fit_epoch`: train the item-row denoiser (the core's
  :class:`~kgrec.diffusion.RowDiffusion`) on ELBO + CKGC with its own Adam (declared in
  :meth:`DiffKG.optimizers`), then rebuild the denoised KG (top-k, reverse edges, mask to the
  KG, keep-rate dropout).
- :meth:`DiffKG.loss`: InfoNCE between the backbone's embeddings on the two KG views;
  ``cl_pattern`` picks which view feeds BPR and evaluation.

Reference code: HKUDS/DiffKG (``Main.py``, ``Model.py``, commit c924659). As run, the
reference trains the denoiser and rebuilds a KG every epoch, but both training views
propagate its original KG with independent message dropout: ``Main.py`` calls
``self.model(adj, denoisedKG)``, which binds the rebuilt KG to ``Model.forward``'s
``mess_dropout`` argument and leaves ``kg=None``. Only its cl_pattern 0 test evaluation
passes ``kg=`` by name and sees the rebuilt KG. ``kg_view="as-run"`` reproduces exactly
that; the default ``"rebuilt"`` feeds the rebuilt KG to the view it is meant for, as the
paper describes. ``rows``/``columns`` choose what is diffused (the reference: every entity
row over every entity column). The backbone's L2 is kgrec's batch L2, not the reference's
penalty on every parameter.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from kgrec import (Batch, Context, Embeddings, Graph, GraphAugmenter, MissingDataError, Setup,
                   View)
from kgrec.diffusion import RowDiffusion
from kgrec_diffkg.config import PRESETS, DiffKGConfig
from kgrec_diffkg.diffusion import KGRows, objective
from kgrec_diffkg.encoder import KGEncoder
from kgrec_diffkg.kg import KGIndex, receptive_field, sample_per_head
from kgrec_diffkg.rebuild import denoised_pairs, keep_edges


def contrast_loss(anchor: Tensor, other: Tensor, nodes: Tensor, temperature: float) -> Tensor:
    """InfoNCE of ``anchor[nodes]`` against every row of ``other`` (its own row positive).

    The reference's ``contrastLoss``: negatives are all users (or all items) of the other
    view, not only the batch's. Shapes: anchor, other ``(N, d)``, nodes ``(B,)``.
    """
    a = F.normalize(anchor[nodes], dim=-1)
    b = F.normalize(other, dim=-1)
    return F.cross_entropy(a @ b.T / temperature, nodes)


class DiffKG(GraphAugmenter):
    """Knowledge-graph diffusion: a denoised KG view, contrasted with the original one."""

    Config = DiffKGConfig
    requires = frozenset({"kg"})
    presets = PRESETS
    search_space = {"keep_rate": {"low": 0.1, "high": 0.9}, "ssl_reg": {"low": 1e-3, "high": 1.0, "log": True},
                    "temp": {"low": 0.05, "high": 1.0, "log": True}, "e_loss": {"low": 0.0, "high": 1.0},
                    "rebuild_k": {"choices": [1, 2, 5]}}
    """What ``kgrec tune`` searches by default (a TOML file overrides it)."""

    def __init__(self, config: DiffKGConfig, setup: Setup):
        super().__init__(config, setup)
        data, device = setup.data, setup.device
        assert data.kg is not None  # the core refuses a dataset without one (requires)
        self.ops = setup.ops
        self.index = KGIndex.build(data.kg, device)
        self.item_entity = torch.as_tensor(data.kg.item_entity, dtype=torch.long, device=device)
        self.linked = self.item_entity >= 0
        if not bool(self.linked.any()):
            raise MissingDataError(f"diffkg: no item of dataset {data.name!r} is linked to a KG "
                                   "entity (item_entity is -1 everywhere); nothing to encode")
        self.all_linked = bool(self.linked.all())
        self.encoder = KGEncoder(self.index.num_entities, self.index.num_relations,
                                 setup.embedding_dim, config.layer_num_kg, config.mess_dropout,
                                 config.res_lambda)
        keep = None
        if config.triplet_num > 0:
            rng = torch.Generator().manual_seed(setup.seed)
            keep = sample_per_head(self.index.heads, config.triplet_num, rng)
        self.original = self._prune(self.index.graph(keep))
        self.generated = self.original
        self.train_users, self.train_items = setup.train_users, setup.train_items
        # pairs the keep-rate dropout draws from each epoch: the last rebuild's, or (for
        # kg_view="original-edge-dropout") the original KG's
        self.candidates: tuple[Tensor, Tensor, Tensor] | None = None
        self.rows: KGRows | None = None
        self.diffusion: RowDiffusion | None = None
        if (config.kg_view == "rebuilt" and self.uses_generated_view) or config.kg_view == "as-run":
            self.rows = KGRows.build(self.index, self.item_entity, config.rows, config.columns)
            self.diffusion = RowDiffusion(config.diffusion, self.rows.num_columns,
                                          owner="diffkg.diffusion")
        elif config.kg_view == "original-edge-dropout" and self.uses_generated_view:
            self.candidates = (self.original.dst, self.original.src, self.original.etype)

    @property
    def uses_generated_view(self) -> bool:
        """Whether the generated KG reaches the loss at all (else it need not be built)."""
        cfg = self.config
        return cfg.cl_pattern == 0 or (cfg.contrast and cfg.ssl_reg > 0)

    def _prune(self, graph: Graph) -> Graph:
        """Only the edges the encoder needs for the items' rows (exact; see receptive_field)."""
        return receptive_field(graph, self.item_entity[self.linked], self.config.layer_num_kg)

    def item_inputs(self, graph: Graph, fallback: Tensor) -> Tensor:
        """The KG encoder's rows for the items' entities, ``(I, d)``."""
        rows = self.encoder(self.ops, graph)[self.item_entity.clamp(min=0)]
        return rows if self.all_linked else torch.where(self.linked[:, None], rows, fallback)

    def views(self, training: bool) -> tuple[Graph, Graph]:
        """(KG feeding BPR and evaluation, KG of the contrastive view), by ``cl_pattern``;
        with ``kg_view="as-run"`` the original KG in both while training (see the module
        docstring)."""
        cfg = self.config
        if cfg.kg_view == "as-run" and (training or cfg.cl_pattern == 1):
            return self.original, self.original
        if cfg.cl_pattern == 0:
            return self.generated, self.original
        return self.original, self.generated

    # --- hooks ---------------------------------------------------------------------------

    def optimizers(self) -> Mapping[str, Any]:
        """The denoiser's own Adam (the KG encoder trains with BPR, in the default group)."""
        return {"denoiser": self.diffusion.optimizer} if self.diffusion is not None else {}

    def fit_epoch(self, ctx: Context) -> dict[str, float]:
        cfg = self.config
        if self.diffusion is None and self.candidates is None:
            return {}  # kg_view="original", or a generated view that reaches nothing
        stats: dict[str, float] = {}
        if self.diffusion is not None and (self.candidates is None
                                           or (ctx.epoch - 1) % cfg.diffuse_every == 0):
            stats = self.diffuse(ctx)
        heads, tails, relations = self.candidates
        kept = keep_edges(heads, tails, relations, self.index.num_entities, cfg.keep_rate, ctx.generator)
        self.generated = self._prune(kept)
        # graph health (the trainer logs these and warns once when the KG is near-empty)
        stats["graph_kg_edges"] = float(kept.num_edges)
        stats["graph_kg_kept"] = kept.num_edges / max(self.index.num_pairs, 1)
        return stats

    def diffuse(self, ctx: Context) -> dict[str, float]:
        """Train the denoiser one pass, then take every row's top-k denoised pairs that the
        KG has (with reverses) as the candidates of the next epochs' dropout."""
        cfg, rows = self.config, self.rows
        signal = None
        if cfg.ckgc:
            users = ctx.base.users.detach()
            per_item = torch.zeros(self.item_entity.shape[0], users.shape[1], device=users.device)
            per_item.index_add_(0, self.train_items, users[self.train_users])
            signal = per_item[rows.items]
        targets = self.encoder.entity.detach()[rows.row_entities]
        loss = objective(rows, signal, targets, cfg.e_loss,
                         mse_scale=rows.num_columns / self.index.num_entities)
        stats = self.diffusion.train_epoch(rows.matrix, ctx.generator, loss)
        best = self.diffusion.top_k(rows.matrix, cfg.rebuild_k, ctx.generator)["rows"]
        heads = rows.row_entities.repeat_interleave(best.shape[1])
        tails = rows.columns[best].reshape(-1)
        self.candidates = denoised_pairs(self.index, heads, tails)
        stats["kg_pairs"] = float(self.candidates[0].shape[0])
        return stats

    def transform(self, view: View, ctx: Context) -> View:
        main, _ = self.views(ctx.training)
        return view.replace(items=self.item_inputs(main, view.items))

    def loss(self, emb: Embeddings, batch: Batch, ctx: Context) -> dict[str, Tensor]:
        cfg = self.config
        terms: dict[str, Tensor] = {}
        if cfg.contrast and cfg.ssl_reg > 0:
            _, second = self.views(training=True)
            base = ctx.base
            other = ctx.encode(base.replace(items=self.item_inputs(second, base.items)))
            cl = (contrast_loss(other.users, emb.users, batch.users, cfg.temp)
                  + contrast_loss(other.items, emb.items, batch.pos_items, cfg.temp))
            terms["contrast"] = cfg.ssl_reg * cl
        if cfg.reg > 0:
            terms["kg_reg"] = cfg.reg * sum(p.pow(2).sum() for p in self.encoder.parameters())
        return terms

    # --- the rebuilt KG is state: the best epoch's must come back for the test -------------

    def get_extra_state(self) -> dict[str, Tensor]:
        g = self.generated
        state = {"src": g.src, "dst": g.dst, "etype": g.etype}
        if self.diffusion is not None and self.candidates is not None:
            state.update(zip(("cand_heads", "cand_tails", "cand_relations"), self.candidates))
        return state

    def set_extra_state(self, state: dict[str, Tensor]) -> None:
        n = self.index.num_entities
        device = self.item_entity.device
        self.generated = Graph(state["src"].to(device), state["dst"].to(device), n, n,
                               etype=state["etype"].to(device))
        if "cand_heads" in state:
            self.candidates = tuple(state[k].to(device) for k in
                                    ("cand_heads", "cand_tails", "cand_relations"))
