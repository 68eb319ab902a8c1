"""The floors every model must beat: ``pop`` (training popularity) and ``ease`` (Steck 2019).

Both are fitted in closed form when they are built (``closed_form = True``): they have no
parameters, take no augmenter, and their run trains no epochs (validation once, as epoch 1,
then the test). They are deterministic, so every seed gives the same result. Their fitted
state is not stored in checkpoints (it is rebuilt from the training split, identically,
when a run is loaded).

- ``pop`` scores every item by its number of training interactions, ties broken by the
  lower item id; with training (and, at test time, validation) items masked, as for every
  model.
- ``ease``: ``B = argmin ||X - X B||^2 + l2 ||B||^2`` with ``diag(B) = 0``, solved in closed
  form as ``P = (X^T X + l2 I)^-1``, ``B = -P / diag(P)`` (off the diagonal), and scores
  ``X_u B`` (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019). The
  item x item solve is the method; when it does not fit the free memory the run is refused
  before it starts, naming the item count and the memory it would need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from kgrec.graph.graph import Graph
from kgrec.interfaces import Embeddings, Recommender, Setup, View
from kgrec.memory import require_memory

EASE_SOLVE_BYTES_PER_ENTRY = 24
"""Peak bytes per item x item entry of EASE's solve: three float64 matrices at once (the Gram
matrix and its Cholesky factor, then the factor and the inverse)."""
EASE_BUILD_BYTES_PER_ENTRY = 20
"""Peak bytes per entry on the CPU while the Gram matrix is built (scipy's sparse product, at
worst dense, and its dense float64 copy)."""


def _empty_view(setup: Setup, users: Tensor, items: Tensor) -> View:
    n = setup.data.num_users + setup.data.num_items
    none = torch.zeros(0, dtype=torch.long, device=setup.device)
    return View(Graph(none, none, n, n), users, items)


@dataclass
class PopConfig:
    """``pop`` has no options."""


class Pop(Recommender):
    """Most popular items among the training interactions (a floor; no training)."""

    Config = PopConfig
    closed_form = True

    def __init__(self, config: PopConfig, setup: Setup):
        super().__init__(config, setup)
        data = setup.data
        counts = np.bincount(data.train.items, minlength=data.num_items)
        # rank-valued scores: exact in float32, ties broken by the lower item id
        order = np.lexsort((-np.arange(data.num_items), counts))
        score = np.empty(data.num_items, dtype=np.float32)
        score[order] = np.arange(1, data.num_items + 1, dtype=np.float32)
        self.register_buffer("counts", torch.as_tensor(counts, device=setup.device), persistent=False)
        self.register_buffer("item_score", torch.as_tensor(score, device=setup.device)[:, None],
                             persistent=False)
        self.register_buffer("ones", torch.ones(data.num_users, 1, device=setup.device), persistent=False)

    @property
    def embedding_dim(self) -> int:
        return 1

    def view(self) -> View:
        return _empty_view(self.setup_info, self.ones, self.item_score)

    def encode(self, view: View) -> Embeddings:
        """Users are ones and items their popularity rank, so the dot product ranks by it."""
        return Embeddings(view.users, view.items)


@dataclass
class EASEConfig:
    l2: float = 500.0
    """L2 weight lambda on B (Steck's lambda; the paper tunes it per dataset, 100-3000 are
    typical): added to the diagonal of ``X^T X``."""

    def __post_init__(self) -> None:
        if not self.l2 > 0:
            raise ValueError("ease.l2 must be > 0")


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder: closed-form item x item weights (a floor)."""

    Config = EASEConfig
    closed_form = True
    search_space = {"l2": {"low": 1.0, "high": 10000.0, "log": True}}

    def __init__(self, config: EASEConfig, setup: Setup):
        super().__init__(config, setup)
        data = setup.data
        self.num_items = data.num_items
        weights = ease_weights(data.train.users, data.train.items, data.num_users, data.num_items,
                               config.l2, setup.device)
        self.register_buffer("weights", weights, persistent=False)
        order = np.lexsort((data.train.items, data.train.users))
        counts = np.bincount(data.train.users, minlength=data.num_users)
        self.register_buffer("indptr", torch.as_tensor(np.concatenate([[0], np.cumsum(counts)]),
                                                       device=setup.device), persistent=False)
        self.register_buffer("indices", torch.as_tensor(data.train.items[order], device=setup.device),
                             persistent=False)
        self.register_buffer("empty_users", torch.zeros(data.num_users, 0, device=setup.device),
                             persistent=False)
        self.register_buffer("empty_items", torch.zeros(data.num_items, 0, device=setup.device),
                             persistent=False)

    @property
    def embedding_dim(self) -> int:
        return 0

    def view(self) -> View:
        return _empty_view(self.setup_info, self.empty_users, self.empty_items)

    def encode(self, view: View) -> Embeddings:
        """Zero-width embeddings: EASE's scores come from ``X_u B`` (:meth:`score`)."""
        return Embeddings(view.users, view.items)

    def score(self, emb: Embeddings, users: Tensor) -> Tensor:
        """``X_u B`` for a batch of users, with ``X_u`` sparse: ``(B, I)``."""
        users = torch.as_tensor(users, device=self.indptr.device)
        counts = self.indptr[users + 1] - self.indptr[users]
        rows = torch.repeat_interleave(torch.arange(users.shape[0], device=users.device), counts)
        starts = torch.repeat_interleave(self.indptr[users], counts)
        offsets = torch.arange(rows.shape[0], device=users.device) - torch.repeat_interleave(
            torch.cumsum(counts, 0) - counts, counts)
        cols = self.indices[starts + offsets]
        x = torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.ones_like(rows, dtype=torch.float),
                                    (users.shape[0], self.num_items))
        return torch.sparse.mm(x, self.weights)


def ease_weights(users: np.ndarray, items: np.ndarray, num_users: int, num_items: int, l2: float,
                 device: torch.device | str = "cpu") -> Tensor:
    """EASE's ``B`` (float32, ``(I, I)``, zero diagonal) from training pairs, solved in float64 on
    ``device``; refused in one line when the solve does not fit the free memory."""
    device = torch.device(device)
    entries = num_items * num_items
    advice = ("use ease on a smaller catalogue (drop rare items) or a machine with more memory; "
              "pop needs no item x item matrix")
    what = f"ease: the item x item solve for {num_items:,} items"
    require_memory(EASE_SOLVE_BYTES_PER_ENTRY * entries, device=device, what=what, advice=advice)
    if device.type != "cpu":
        require_memory(EASE_BUILD_BYTES_PER_ENTRY * entries, device="cpu",
                       what=f"{what} (building X^T X on the CPU)", advice=advice)
    x = sp.csr_matrix((np.ones(len(users)), (users, items)), shape=(num_users, num_items))
    gram = torch.as_tensor((x.T @ x).toarray(), device=device)
    gram.diagonal().add_(l2)
    factor = torch.linalg.cholesky(gram)
    del gram
    inverse = torch.cholesky_inverse(factor)
    del factor
    inverse.div_(-torch.diagonal(inverse).clone())  # column j over -P_jj
    inverse.diagonal().zero_()
    return inverse.to(torch.float32)
