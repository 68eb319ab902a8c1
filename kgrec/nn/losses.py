"""Losses shared by backbones and augmenters."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def bpr_loss(pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
    """Bayesian personalised ranking: ``mean(-log sigmoid(pos - neg))``."""
    return F.softplus(neg_scores - pos_scores).mean()


def l2_penalty(*tensors: Tensor) -> Tensor:
    """``sum ||t||^2 / 2`` averaged over the batch (the LightGCN reference's reg term)."""
    batch = tensors[0].shape[0]
    return sum(t.pow(2).sum() for t in tensors) / (2 * max(batch, 1))


def info_nce(a: Tensor, b: Tensor, temperature: float) -> Tensor:
    """InfoNCE between two views of the same rows: row i of ``a`` and of ``b`` are positives,
    every other row of ``b`` a negative. Rows are L2-normalised first.

    Shapes: a, b ``(N, d)``; returns a scalar.
    """
    a = F.normalize(a, dim=-1)
    b = F.normalize(b, dim=-1)
    logits = a @ b.T / temperature
    return F.cross_entropy(logits, torch.arange(a.shape[0], device=a.device))
