"""The seam between the core and every plugin: :class:`Recommender` and :class:`GraphAugmenter`.

One training step, for every pairing of augmenter and recommender::

    view = augmenter.transform(model.view(), ctx)     # swap graphs / input embeddings
    emb  = augmenter.refine(model.encode(view), ctx)  # add to output representations
    loss = sum(model.loss(emb, batch).values()) + sum(augmenter.loss(emb, batch, ctx).values())

and once per epoch, before the batches, ``augmenter.fit_epoch(ctx)`` trains the augmenter's
own generator (and may rebuild graphs). Evaluation takes the same path without a batch.
Every augmenter hook defaults to "change nothing", so the identity augmenter ``none`` is an
empty subclass and every ablation compares like with like.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, Callable, ClassVar, Mapping

import torch
from torch import Tensor, nn

from kgrec.data.recdata import RecData
from kgrec.graph.graph import Graph
from kgrec.graph.ops import GraphOps


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
    ``extras`` carries anything an augmenter wants a cooperating backbone to see.
    """

    graph: Graph
    users: Tensor
    items: Tensor
    extras: Mapping[str, Any] = field(default_factory=dict)

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
    """Per-step state handed to augmenter hooks.

    ``encode`` runs the backbone on any view, so an augmenter can build a second view (a
    contrastive one, say) without knowing which backbone it is paired with.
    """

    epoch: int
    device: torch.device
    ops: GraphOps
    generator: torch.Generator
    training: bool
    encode: Callable[[View], Embeddings]
    base_view: Callable[[], View]


class Recommender(nn.Module, ABC):
    """A backbone: graphs in, user and item embeddings out; scores and its own loss.

    Subclasses set ``Config`` to a dataclass of their hyper-parameters (each with a default)
    and implement :meth:`view` and :meth:`encode`. ``score`` and ``loss`` default to dot
    products and BPR + L2 on the batch's input embeddings, as in all three papers.
    """

    Config: ClassVar[type]
    requires: ClassVar[frozenset[str]] = frozenset()

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
        """BPR on the batch plus L2 on its layer-0 embeddings (``config.reg``)."""
        from kgrec.nn.losses import bpr_loss, l2_penalty

        u = emb.users[batch.users]
        pos = emb.items[batch.pos_items]
        neg = emb.items[batch.neg_items]
        terms = {"bpr": bpr_loss((u * pos).sum(-1), (u * neg).sum(-1))}
        reg = float(getattr(self.config, "reg", 0.0))
        if reg > 0:
            terms["reg"] = reg * l2_penalty(
                view.users[batch.users], view.items[batch.pos_items], view.items[batch.neg_items])
        return terms


class GraphAugmenter(nn.Module):
    """A component that changes what the backbone sees, around any backbone.

    It may (a) train its own generator each epoch (:meth:`fit_epoch`), (b) replace or add
    graph views and (c) supply input representations (:meth:`transform`), (c') add to output
    representations (:meth:`refine`), and (d) contribute auxiliary losses (:meth:`loss`).
    ``requires`` names the side data it needs (``kg``, ``social``, ``modalities``); the core
    refuses a dataset that lacks it before anything is built. Every hook defaults to a no-op.
    """

    Config: ClassVar[type]
    requires: ClassVar[frozenset[str]] = frozenset()
    presets: ClassVar[Mapping[str, Mapping[str, Mapping[str, Any]]]] = {}
    """Named settings, e.g. ``{"lastfm": {"augmenter": {...}, "train": {...}}}``."""

    def __init__(self, config: Any, setup: Setup):
        super().__init__()
        self.config = config
        self.setup_info = setup

    def bind(self, model: Recommender) -> None:
        """Called once after both components exist (e.g. to read the backbone's tables)."""

    def param_groups(self) -> list[dict[str, Any]]:
        """Parameters trained jointly with the backbone, each group with its own settings.

        Default: all of this module's parameters in one group with the main learning rate;
        an augmenter whose generator has its own optimiser in :meth:`fit_epoch` overrides this.
        """
        params = [p for p in self.parameters() if p.requires_grad]
        return [{"params": params}] if params else []

    def fit_epoch(self, ctx: Context) -> dict[str, float]:
        """Train the augmenter's own generator for one epoch; may swap in rebuilt graphs."""
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
