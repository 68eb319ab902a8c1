"""The seam between the core and every plugin: :class:`Recommender` and :class:`GraphAugmenter`.

One training step, for every pairing of augmenter and recommender::

    ctx  = Context(..., base=model.view(), batch=batch)    # a fresh record per step
    ctx.view = augmenter.transform(ctx.base, ctx)           # swap graphs / input embeddings
    emb  = augmenter.refine(model.encode(ctx.view), ctx)    # add to output representations
    loss = sum(model.loss(emb, batch, ctx.view)) + sum(ctx.losses) + sum(augmenter.loss(emb, batch, ctx))

and once per epoch, before the batches, ``augmenter.fit_epoch(ctx)`` trains the augmenter's
own generator (and may rebuild graphs) with the optimisers it declares in
:meth:`GraphAugmenter.optimizers`. Evaluation takes the same path without a batch.
Whatever one hook computes for a later hook of the same step travels in the
:class:`Context` (``ctx.view``, ``ctx.add_loss``), never in attributes of the augmenter.
Every augmenter hook defaults to "change nothing", so the identity augmenter ``none`` is an
empty subclass and every ablation compares like with like.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, Callable, ClassVar, Mapping, TypeVar

import torch
from torch import Tensor, nn

from kgrec.data.recdata import RecData
from kgrec.graph.graph import Graph
from kgrec.graph.ops import GraphOps


T = TypeVar("T")

HEALTH_PREFIXES = ("graph_", "health_")
"""Names of graph-health numbers, returned by :meth:`GraphAugmenter.fit_epoch` or reported per
step with :meth:`Context.report`; the trainer logs them under their own names (not
``fit_*``), studies tabulate them, and a run warns when a produced graph is near-empty:

- ``graph_<g>_edges``: edges of the produced (rebuilt or generated) graph ``<g>``;
- ``graph_<g>_kept``: the share of the original graph's edges that ``<g>`` keeps (its overlap
  with the original, in [0, 1]); below :data:`NEAR_EMPTY` (or ``graph_<g>_edges`` = 0) the run
  warns once per graph;
- ``graph_<g>_new``: the share of ``<g>``'s edges that are not in the original graph;
- ``health_<name>``: anything else, e.g. ``health_latent_ratio`` (norm of a latent correction
  over the norm of the embedding it corrects).
"""

NEAR_EMPTY = 0.01
"""A produced graph keeping less than this share of the original's edges is near-empty."""


@dataclass(frozen=True)
class Embeddings:
    """Output representations. Shapes: users ``(U, d)``, items ``(I, d)``."""

    users: Tensor
    items: Tensor


@dataclass(frozen=True)
class View:
    """What an encoder consumes: the user-item graph and the input embeddings.

    ``graph`` is a homogeneous graph over ``U + I`` nodes (users first; see
    :func:`kgrec.graph.bipartite_graph`). ``users`` / ``items`` are the layer-0 inputs.

    ``layer_graph``, when set, gives a different graph per propagation layer:
    ``layer_graph(l, h)`` is the graph of layer ``l`` (0-based), built from that layer's input
    node matrix ``h`` (``(U + I, d)``; detach it unless gradients should reach the graph), as
    AdaptiveGCL's learned edge gates need. A backbone honours it only if its class sets
    :attr:`Recommender.supports_layer_graph`; an augmenter that relies on it checks that in
    :meth:`GraphAugmenter.bind`.
    """

    graph: Graph
    users: Tensor
    items: Tensor
    layer_graph: Callable[[int, Tensor], Graph] | None = None

    def replace(self, **changes: Any) -> "View":
        return replace(self, **changes)


@dataclass(frozen=True)
class Batch:
    """A BPR batch: each user with one training positive and one sampled negative item."""

    users: Tensor
    pos_items: Tensor
    neg_items: Tensor


@dataclass(frozen=True)
class Setup:
    """What a component is built from.

    ``train_users`` / ``train_items`` are the training pairs on ``device``; each component
    builds the graph it needs from them (LightGCN adds self-loops, GCN does not, ...).
    ``embedding_dim`` is the backbone's, so an augmenter can size its tables to match.
    """

    data: RecData
    ops: GraphOps
    device: torch.device
    seed: int
    train_users: Tensor
    train_items: Tensor
    embedding_dim: int = 64


@dataclass
class Context:
    """The record of one step, handed to every augmenter hook of that step.

    A step is one training batch, one evaluation, or the per-epoch :meth:`~GraphAugmenter.fit_epoch`
    / :meth:`~GraphAugmenter.epoch_end`; the trainer builds a fresh record for each, so nothing
    in it outlives its step. It carries:

    - ``epoch`` (1-based), ``training``, ``device``, ``ops`` and ``generator`` (the run's seeded
      CPU ``torch.Generator``);
    - ``encode(view)``: runs the backbone on any view, so an augmenter can build a second view
      (a contrastive one, say) without knowing which backbone it is paired with;
    - ``base``: the backbone's own view of this step (its training graph and tables);
    - ``batch``: the step's BPR batch (None at evaluation and in the per-epoch hooks);
    - ``view``: what :meth:`~GraphAugmenter.transform` returned; the trainer sets it before
      :meth:`~GraphAugmenter.refine`, which may read it (DiffMM adds its fused input back);
    - ``losses``: loss terms a hook computed on the way (:meth:`add_loss`), summed with the
      backbone's and :meth:`~GraphAugmenter.loss`'s terms (RecDiff's refine adds its diffusion
      loss, computed from the same noise draw as the embedding it returns);
    - :meth:`cached`: a value computed once in the step and shared by the hooks that need it
      (DiffMM projects its modality features once for ``transform`` and ``loss``);
    - :meth:`report`: a number describing what this step produced (graph health, see
      :data:`HEALTH_PREFIXES`), averaged by the trainer over the epoch's training steps.
    """

    epoch: int
    training: bool
    device: torch.device
    ops: GraphOps
    generator: torch.Generator
    encode: Callable[[View], Embeddings]
    base: View
    batch: Batch | None = None
    view: View | None = None
    losses: dict[str, Tensor] = field(default_factory=dict)
    reports: dict[str, float] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def add_loss(self, name: str, value: Tensor) -> None:
        """Add a weighted loss term of this step, logged under ``name``."""
        if name in self.losses:
            raise ValueError(f"loss term {name!r} was already added in this step")
        self.losses[name] = value

    def report(self, name: str, value: float | Tensor) -> None:
        """Log a number about this step under ``name`` (``graph_*`` / ``health_*``, see
        :data:`HEALTH_PREFIXES`); the trainer logs the mean over the epoch's training steps.
        Detached and converted here, so reporting never keeps a graph alive."""
        if not name.startswith(HEALTH_PREFIXES):
            raise ValueError(f"reported numbers are named graph_* or health_*; got {name!r}")
        self.reports[name] = float(value.detach()) if isinstance(value, Tensor) else float(value)

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked for in this step; the same object
        after that. Use a key prefixed with the component's name (``"diffmm.features"``)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]


class Recommender(nn.Module, ABC):
    """A backbone: graphs in, user and item embeddings out; scores and its own loss.

    Subclasses set ``Config`` to a dataclass of their hyper-parameters (each with a default)
    and implement :meth:`view` and :meth:`encode`. ``score`` and ``loss`` default to dot
    products and BPR + L2 (``config.reg``) on the batch's input embeddings, as in all three
    papers, or on the whole embedding tables with ``config.reg_on = "tables"``.
    """

    Config: ClassVar[type]
    requires: ClassVar[frozenset[str]] = frozenset()
    supports_layer_graph: ClassVar[bool] = False
    """True when :meth:`encode` propagates layer by layer and honours ``View.layer_graph``."""
    closed_form: ClassVar[bool] = False
    """True for a recommender fitted once, when it is built, with nothing to train by gradient
    (the floors ``pop`` and ``ease``): it has no parameters, takes no augmenter but ``none``,
    and its run trains no epochs: validation is evaluated once as epoch 1, which is selected,
    and ``train.epochs`` / ``patience`` do not apply."""
    search_space: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    """What ``kgrec tune`` searches for this component: ``{field: distribution}`` with
    ``{low, high[, log][, step]}`` (ints when both bounds are ints) or ``{choices = [...]}``,
    fields of ``Config`` (nested ones dotted: ``diffusion.steps``). A TOML file given to
    ``kgrec tune --space`` overrides it key by key (docs/studies.md)."""

    def __init__(self, config: Any, setup: Setup):
        super().__init__()
        self.config = config
        self.setup_info = setup

    @property
    def embedding_dim(self) -> int:
        return int(getattr(self.config, "dim"))

    @abstractmethod
    def view(self) -> View:
        """The backbone's own inputs: its normalised training graph and embedding tables."""

    @abstractmethod
    def encode(self, view: View) -> Embeddings:
        """Propagate ``view.users`` / ``view.items`` over ``view.graph``."""

    def score(self, emb: Embeddings, users: Tensor) -> Tensor:
        """Scores of ``users`` against every item. Shapes: users ``(B,)``, out ``(B, I)``."""
        return emb.users[users] @ emb.items.T

    def loss(self, emb: Embeddings, batch: Batch, view: View) -> dict[str, Tensor]:
        """BPR on the batch plus ``config.reg`` times an L2 term chosen by ``config.reg_on``:

        - ``"input"`` (also when the config has no ``reg_on``): the batch's rows of the view's
          layer-0 inputs, ``sum ||.||^2 / 2B`` (the LightGCN reference); with an augmenter that
          replaces the inputs (DiffMM's fused embeddings) those are what is regularised;
        - ``"tables"``: :meth:`table_l2`, the backbone's whole own tables, every step (the
          DiffMM reference).
        """
        from kgrec.nn.losses import bpr_loss, l2_penalty

        u = emb.users[batch.users]
        pos = emb.items[batch.pos_items]
        neg = emb.items[batch.neg_items]
        terms = {"bpr": bpr_loss((u * pos).sum(-1), (u * neg).sum(-1))}
        reg = float(getattr(self.config, "reg", 0.0))
        if reg > 0:
            if getattr(self.config, "reg_on", "input") == "tables":
                terms["reg"] = reg * self.table_l2()
            elif emb.users is view.users and emb.items is view.items:  # no propagation (MF):
                terms["reg"] = reg * l2_penalty(u, pos, neg)            # the rows are gathered
            else:
                terms["reg"] = reg * l2_penalty(
                    view.users[batch.users], view.items[batch.pos_items], view.items[batch.neg_items])
        return terms

    def table_l2(self) -> Tensor:
        """``||E_u||_F^2 + ||E_i||_F^2`` over every row of the backbone's own layer-0 tables
        (those of :meth:`view`, whatever an augmenter feeds the encoder): no 1/2, no averaging
        over a batch. It is DiffMM's reference ``reg_loss``, added to every step's loss."""
        own = self.view()
        return own.users.pow(2).sum() + own.items.pow(2).sum()


class GraphAugmenter(nn.Module):
    """A component that changes what the backbone sees, around any backbone.

    It may (a) train its own generator each epoch (:meth:`fit_epoch`, with the optimisers it
    declares in :meth:`optimizers`), (b) replace or add graph views and (c) supply input
    representations (:meth:`transform`), (c') add to output representations (:meth:`refine`),
    and (d) contribute auxiliary losses (:meth:`loss`, or :meth:`Context.add_loss` from an
    earlier hook). ``requires`` names the side data it needs (``kg``, ``social``,
    ``modalities``); the core refuses a dataset that lacks it before anything is built. Every
    hook defaults to a no-op.
    """

    Config: ClassVar[type]
    requires: ClassVar[frozenset[str]] = frozenset()
    presets: ClassVar[Mapping[str, Mapping[str, Mapping[str, Any]]]] = {}
    """Named settings, e.g. ``{"lastfm": {"augmenter": {...}, "recommender": {...},
    "train": {...}}}``; a section named after a recommender (``"lightgcn": {"layers": 1}``)
    holds that backbone's own options, applied only when it is chosen."""
    search_space: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    """What ``kgrec tune`` searches for this augmenter, as :attr:`Recommender.search_space`."""

    def __init__(self, config: Any, setup: Setup):
        super().__init__()
        self.config = config
        self.setup_info = setup

    def bind(self, model: Recommender) -> None:
        """Called once after both components exist (e.g. to read the backbone's tables)."""

    def optimizers(self) -> Mapping[str, Any]:
        """The optimisers (and LR schedulers) this augmenter steps itself, by name.

        An augmenter that trains a generator in :meth:`fit_epoch` creates its optimiser in
        ``__init__`` (or :meth:`bind`) and returns it here. The trainer then leaves those
        parameters out of the joint optimiser, and saves and restores each object's
        ``state_dict`` with every epoch checkpoint, so that a resumed run continues exactly.
        Default: none.
        """
        return {}

    def param_groups(self) -> list[dict[str, Any]]:
        """Parameters the trainer's Adam trains jointly with the backbone, each group with its
        own settings (e.g. ``lr``; ``train.lr`` where a group sets none).

        Default: one group of every parameter that requires a gradient and that none of
        :meth:`optimizers` steps. The trainer refuses a parameter that two optimisers would
        step, and one that requires a gradient but no optimiser steps.
        """
        own = {id(p) for p in optimized_parameters(self.optimizers())}
        params = [p for p in self.parameters() if p.requires_grad and id(p) not in own]
        return [{"params": params}] if params else []

    def fit_epoch(self, ctx: Context) -> dict[str, float]:
        """Train the augmenter's own generator for one epoch; may swap in rebuilt graphs.
        Returns numbers to log: as ``fit_<name>``, except graph-health numbers (``graph_*``,
        ``health_*``; see :data:`HEALTH_PREFIXES`), logged under their own names."""
        return {}

    def transform(self, view: View, ctx: Context) -> View:
        """Before encoding: replace the graph or the input embeddings."""
        return view

    def refine(self, emb: Embeddings, ctx: Context) -> Embeddings:
        """After encoding: add to (or replace) the output representations."""
        return emb

    def loss(self, emb: Embeddings, batch: Batch, ctx: Context) -> dict[str, Tensor]:
        """Auxiliary loss terms, already weighted; each is logged under its name."""
        return {}

    def epoch_end(self, ctx: Context) -> None:
        """After the epoch's batches (e.g. to decay a temperature)."""

    def train_state(self) -> dict[str, Any]:
        """Training state outside ``state_dict`` that a resumed run needs, saved every epoch.

        ``state_dict`` (parameters, buffers, ``get_extra_state``) is saved anyway; the default
        adds the ``state_dict`` of each of :meth:`optimizers`. Anything else that changes
        across epochs belongs in a buffer or extra state, or in an override of this pair of
        methods. Values must be tensors or plain containers of numbers and strings.
        """
        return {name: obj.state_dict() for name, obj in self.optimizers().items()}

    def load_train_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`train_state` returned (by default with ``load_state_dict``)."""
        owned = self.optimizers()
        if set(state) != set(owned):
            from kgrec.errors import KgrecError

            raise KgrecError(f"{type(self).__name__}: the checkpoint has training state for "
                             f"{sorted(state)}, this augmenter's optimizers() are {sorted(owned)}")
        for name, value in state.items():
            owned[name].load_state_dict(value)


def optimized_parameters(optimizers: Mapping[str, Any]) -> list[nn.Parameter]:
    """Every parameter the optimisers among ``optimizers`` (schedulers are skipped) step."""
    return [p for obj in optimizers.values() if isinstance(obj, torch.optim.Optimizer)
            for group in obj.param_groups for p in group["params"]]
