"""What happens to the social embedding ``s_u`` before it is added to the user embedding.

Three interchangeable strategies, one per ``mode``:

- :class:`LatentDiffusion` (RecDiff): during training the denoiser predicts ``s_u`` from
  ``q(s_t | s_u)`` at a uniform ``t``, giving the reweighted loss and the prediction that is
  added; at inference the deterministic reverse chain runs from ``s_u`` itself.
- :class:`DenoisingAutoencoder` (the paper's "DAE" ablation): one fixed corruption level,
  unweighted MSE, one denoiser pass at inference.
- :class:`Passthrough` (the paper's "-D" ablation): ``s_u`` unchanged, no loss.

All diffusion arithmetic is the shared core's (:mod:`kgrec.diffusion`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kgrec.diffusion import Denoiser, DiffusionConfig, GaussianDiffusion


class Passthrough(nn.Module):
    def train_step(self, x0: Tensor) -> tuple[Tensor | None, Tensor]:
        return None, x0

    def infer(self, x0: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return x0


class LatentDiffusion(nn.Module):
    """Gaussian diffusion on the social embeddings with an ``x_0``-predicting denoiser.

    Shapes: x0 ``(N, d)``; per-row loss ``(N,)``; outputs ``(N, d)``.
    """

    def __init__(self, diffusion: DiffusionConfig, denoiser: Denoiser):
        super().__init__()
        self.diffusion = GaussianDiffusion(diffusion)
        self.denoiser = denoiser

    def train_step(self, x0: Tensor) -> tuple[Tensor, Tensor]:
        """Per-row reweighted MSE and the predicted ``x_0`` (gradients reach ``x0``)."""
        return self.diffusion.training_loss(self.denoiser, x0)

    def infer(self, x0: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.diffusion.sample(self.denoiser, x0, generator=generator)


class DenoisingAutoencoder(nn.Module):
    """Reconstruct ``x_0`` from ``x_0 + noise * eps`` with the same MLP at a fixed step 0."""

    def __init__(self, denoiser: Denoiser, noise: float):
        super().__init__()
        self.denoiser = denoiser
        self.noise = noise

    def _step0(self, x: Tensor) -> Tensor:
        return torch.zeros(x.shape[0], dtype=torch.long, device=x.device)

    def train_step(self, x0: Tensor) -> tuple[Tensor, Tensor]:
        noisy = x0 + self.noise * torch.randn_like(x0) if self.noise > 0 else x0
        x0_hat = self.denoiser(noisy, self._step0(x0))
        return (x0 - x0_hat).pow(2).mean(dim=1), x0_hat

    def infer(self, x0: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.denoiser(x0, self._step0(x0))
