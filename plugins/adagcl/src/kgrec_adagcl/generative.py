"""The generative view: a variational graph autoencoder over the backbone's embeddings.

Jiang et al., "Adaptive Graph Contrastive Learning for Recommendation" (KDD/WWW 2023), the
graph generative model. Reference code: SSLRec ``models/general_cf/adagcl.py`` (``VGAE``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kgrec import Batch, Graph, bpr_loss


class GenerativeView(nn.Module):
    """Encode nodes as Gaussians, decode an edge probability from two sampled node vectors.

    .. math::
        z = \\mu(x) + \\sigma(x) \\odot \\epsilon, \\quad
        p(u, v) = \\mathrm{sigmoid}(\\mathrm{MLP}(z_u \\odot z_v))

    ``x`` is the backbone's propagated embeddings, detached: the generator learns from the
    backbone, never the other way round. Shapes: x, z ``(U + I, d)``.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.mean = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.std = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.Softplus())
        self.decoder = nn.Sequential(nn.ReLU(), nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, 1))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """A reparameterised sample ``z`` with its ``mean`` and ``std`` (global torch RNG)."""
        mean, std = self.mean(x), self.std(x)
        return mean + std * torch.randn_like(std), mean, std

    def edge_logits(self, a: Tensor, b: Tensor) -> Tensor:
        """Logit of an edge between rows of ``a`` and ``b``. Shapes: ``(E, d)`` -> ``(E,)``."""
        return self.decoder(a * b).squeeze(-1)

    def loss(self, z: Tensor, mean: Tensor, std: Tensor, batch: Batch, num_users: int,
             kl_weight: float, task_aware: bool) -> Tensor:
        """BCE on the batch's positive vs sampled negative edges, ``kl_weight`` x KL to N(0, I)
        (summed over dimensions, averaged over nodes), plus BPR on the sampled vectors."""
        users = z[batch.users]
        pos = z[num_users + batch.pos_items]
        neg = z[num_users + batch.neg_items]
        pos_logit, neg_logit = self.edge_logits(users, pos), self.edge_logits(users, neg)
        reconstruction = F.softplus(-pos_logit).mean() + F.softplus(neg_logit).mean()
        kl = -0.5 * (1 + 2 * std.clamp_min(1e-10).log() - mean.pow(2) - std.pow(2)).sum(1).mean()
        loss = reconstruction + kl_weight * kl
        if task_aware:
            loss = loss + bpr_loss((users * pos).sum(-1), (users * neg).sum(-1))
        return loss

    @torch.no_grad()
    def view(self, graph: Graph, z: Tensor, threshold: float) -> Graph:
        """``graph`` restricted to the edges decoded with probability >= ``threshold``."""
        prob = torch.sigmoid(self.edge_logits(z[graph.src], z[graph.dst]))
        return keep_edges(graph, prob >= threshold)


def keep_edges(graph: Graph, keep: Tensor) -> Graph:
    """The edges where ``keep`` holds, their weights divided by the kept fraction (SSLRec's
    rescaling, which keeps the view's total weight near the full graph's)."""
    weight = graph.weight if graph.weight is not None else torch.ones(graph.num_edges, device=graph.device)
    kept = int(keep.sum())
    fraction = max(kept, 1) / max(graph.num_edges, 1)
    etype = graph.etype[keep] if graph.etype is not None else None
    return Graph(graph.src[keep], graph.dst[keep], graph.num_src, graph.num_dst,
                 weight[keep] / fraction, etype)
