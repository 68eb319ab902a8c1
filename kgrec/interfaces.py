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
    extras: Mapping[str, Any] = field(default_factory=dict)
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
    supports_layer_graph: ClassVar[bool] = False
    """True when :meth:`encode` propagates layer by layer and honours ``View.layer_graph``."""

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

    def train_state(self) -> dict[str, Any]:
        """Training state outside ``state_dict`` that a resumed run needs, saved every epoch.

        ``state_dict`` (parameters, buffers, ``get_extra_state``) is saved anyway. The default
        adds the ``state_dict`` of every ``torch.optim.Optimizer`` and LR scheduler held as an
        attribute of this module or its submodules (an optimiser stepped in :meth:`fit_epoch`),
        and of every optimiser or ``nn.Module`` held by a plain (non-module) helper object one
        attribute down (``self.generator = RowDiffusion(...)`` owning a denoiser and its Adam),
        keyed by dotted attribute name. Create these in ``__init__`` or :meth:`bind`, not
        lazily, so that a resumed run has them to load into. Anything else that changes across
        epochs (a decayed temperature) belongs in a buffer or extra state, or in an override
        of this pair of methods. Values must be tensors or plain containers of numbers/strings.
        """
        return {name: obj.state_dict() for name, obj in _training_objects(self).items()}

    def load_train_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`train_state` returned (by default with ``load_state_dict``)."""
        owned = _training_objects(self)
        for name, value in state.items():
            if name not in owned:
                from kgrec.errors import KgrecError

                raise KgrecError(f"{type(self).__name__}: the checkpoint has training state for "
                                 f"{name!r}, which this augmenter does not have (create optimisers "
                                 "in __init__ or bind, or override load_train_state)")
            owned[name].load_state_dict(value)


_STATEFUL = (torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler,
             torch.optim.lr_scheduler.ReduceLROnPlateau)


def _training_objects(module: nn.Module) -> dict[str, Any]:
    """Optimisers and schedulers in ``module``'s tree, plus optimisers and modules outside the
    tree that plain helper objects of the tree hold (one level down)."""
    tree = {id(m) for m in module.modules()}
    found: dict[str, Any] = {}
    for prefix, sub in module.named_modules():
        for attr, value in vars(sub).items():
            name = f"{prefix}.{attr}" if prefix else attr
            if isinstance(value, _STATEFUL):
                found[name] = value
            elif not isinstance(value, (nn.Module, torch.Tensor, type)) and hasattr(value, "__dict__"):
                for inner, obj in vars(value).items():
                    if isinstance(obj, _STATEFUL) or (isinstance(obj, nn.Module) and id(obj) not in tree):
                        found[f"{name}.{inner}"] = obj
    return found
