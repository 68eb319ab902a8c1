"""The timestep-conditioned MLP that predicts ``x_0`` from ``(x_t, t)``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal embedding ``[cos(t f), sin(t f)]`` of integer steps. Shapes: ``(B,) -> (B, dim)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / max(half, 1))
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class Denoiser(nn.Module):
    """``x_0``-predicting MLP: ``[dropout(norm(x_t)) || Linear(temb(t))] -> hidden -> n``.

    ``hidden`` is ``[1000]`` for graph-row diffusion and ``[64]`` for latent diffusion.
    Tanh between layers, none on the output; Xavier-normal weights, N(0, 0.001) biases.

    Shapes: x_t ``(B, n)``, t ``(B,)``, out ``(B, n)``.
    """

    def __init__(self, size: int, hidden: list[int] | tuple[int, ...] = (1000,), time_dim: int = 10,
                 normalize_input: bool = False, dropout: float = 0.5):
        super().__init__()
        self.size = size
        self.hidden = tuple(hidden)
        self.time_dim = time_dim
        self.normalize_input = normalize_input
        self.time_layer = nn.Linear(time_dim, time_dim)
        dims = [size + time_dim, *hidden, size]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.dropout = nn.Dropout(dropout)
        for layer in [self.time_layer, *self.layers]:
            nn.init.xavier_normal_(layer.weight)
            nn.init.normal_(layer.bias, 0.0, 0.001)

    def row_bytes(self, training: bool) -> int:
        """Peak float32 bytes one input row costs, for :func:`kgrec.fit_batch_size`.

        Training keeps about eight ``size``-wide tensors per row alive (x_0, noise, x_t, its
        normalised and dropped-out copies, the output, the loss's difference and the gradient)
        and each hidden layer's activation and gradient; sampling without gradients about four
        (x_0 or x_t, the output, the posterior mean, the noise). A deliberate over-estimate: the
        guard should refuse a batch a little early rather than let the OOM killer end the run.
        """
        wide, per_hidden = (8, 3) if training else (4, 1)
        return 4 * (wide * (self.size + self.time_dim) + per_hidden * sum(self.hidden))

    def forward(self, x_t: Tensor, t: Tensor) -> Tensor:
        temb = self.time_layer(timestep_embedding(t, self.time_dim))
        if self.normalize_input:
            x_t = F.normalize(x_t, dim=-1)
        h = torch.cat([self.dropout(x_t), temb], dim=-1)
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = torch.tanh(h)
        return h
