"""Gaussian diffusion on vectors: schedule, forward process, reweighted loss, reverse chain.

Follows DiffRec's formulation as DiffKG, RecDiff and DiffMM use it: the denoiser predicts
``x_0``; the loss is a per-example MSE weighted by ``SNR(t-1) - SNR(t)`` (1 at ``t = 0``);
inference optionally noises ``x_0`` to step ``sampling_steps`` and then runs the whole
reverse chain with the posterior mean (no sampling noise unless asked).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

from kgrec.diffusion.config import DiffusionConfig


def make_betas(config: DiffusionConfig, max_beta: float = 0.999) -> np.ndarray:
    """Betas of the schedule (float64, length T)."""
    start = config.noise_scale * config.noise_min
    end = config.noise_scale * config.noise_max
    if config.schedule == "linear":
        betas = np.linspace(start, end, config.steps, dtype=np.float64)
    else:
        variance = np.linspace(start, end, config.steps, dtype=np.float64)
        alpha_bar = 1 - variance
        betas = np.empty(config.steps, dtype=np.float64)
        betas[0] = 1 - alpha_bar[0]
        betas[1:] = np.minimum(1 - alpha_bar[1:] / alpha_bar[:-1], max_beta)
    if config.beta_fixed:
        betas[0] = 1e-4
    return np.clip(betas, 1e-12, max_beta)


class GaussianDiffusion(nn.Module):
    """Forward process, training loss and reverse chain for a fixed schedule.

    Shapes: x ``(B, n)``; t ``(B,)`` int64 in ``0..T-1``.
    """

    def __init__(self, config: DiffusionConfig):
        super().__init__()
        self.config = config
        self.steps = config.steps
        betas = make_betas(config)
        alphas = 1.0 - betas
        bar = np.cumprod(alphas)
        bar_prev = np.append(1.0, bar[:-1])
        table = {
            "betas": betas,
            "alphas_cumprod": bar,
            "sqrt_alphas_cumprod": np.sqrt(bar),
            "sqrt_one_minus_alphas_cumprod": np.sqrt(1.0 - bar),
            "posterior_variance": betas * (1.0 - bar_prev) / (1.0 - bar),
            "posterior_mean_coef1": betas * np.sqrt(bar_prev) / (1.0 - bar),
            "posterior_mean_coef2": (1.0 - bar_prev) * np.sqrt(alphas) / (1.0 - bar),
        }
        for name, values in table.items():
            self.register_buffer(name, torch.tensor(values, dtype=torch.float32), persistent=False)

    @staticmethod
    def _at(table: Tensor, t: Tensor, like: Tensor) -> Tensor:
        return table[t].view(-1, *([1] * (like.dim() - 1)))

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor | None = None) -> Tensor:
        """``x_t = sqrt(bar_t) x_0 + sqrt(1 - bar_t) eps``."""
        if noise is None:
            noise = torch.randn_like(x0)
        return (self._at(self.sqrt_alphas_cumprod, t, x0) * x0
                + self._at(self.sqrt_one_minus_alphas_cumprod, t, x0) * noise)

    def snr(self, t: Tensor) -> Tensor:
        bar = self.alphas_cumprod[t]
        return bar / (1.0 - bar)

    def sample_timesteps(self, batch: int, device: torch.device,
                         generator: torch.Generator | None = None) -> Tensor:
        return torch.randint(self.steps, (batch,), generator=generator).to(device)

    def training_loss(self, denoiser: Callable[[Tensor, Tensor], Tensor], x0: Tensor,
                      t: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Per-example reweighted MSE of the predicted ``x_0``, and that prediction.

        Returns ``(loss (B,), x0_hat (B, n))``; callers add their own terms (CKGC, modality
        alignment) on ``x0_hat``.
        """
        if t is None:
            t = self.sample_timesteps(x0.shape[0], x0.device)
        x_t = self.q_sample(x0, t) if self.config.noise_scale > 0 else x0
        x0_hat = denoiser(x_t, t)
        mse = (x0 - x0_hat).pow(2).mean(dim=tuple(range(1, x0.dim())))
        if self.config.reweight:
            weight = self.snr((t - 1).clamp(min=0)) - self.snr(t)
            weight = torch.where(t == 0, torch.ones_like(weight), weight)
        else:
            weight = torch.ones_like(mse)
        return weight * mse, x0_hat

    def posterior_mean(self, x0_hat: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        return (self._at(self.posterior_mean_coef1, t, x_t) * x0_hat
                + self._at(self.posterior_mean_coef2, t, x_t) * x_t)

    @torch.no_grad()
    def sample(self, denoiser: Callable[[Tensor, Tensor], Tensor], x0: Tensor,
               generator: torch.Generator | None = None) -> Tensor:
        """The reverse chain from ``x_0`` (or from ``q(x_s | x_0)``, ``s = sampling_steps``)."""
        cfg = self.config
        batch = x0.shape[0]
        if cfg.sampling_steps == 0:
            x_t = x0
        else:
            t = torch.full((batch,), cfg.sampling_steps - 1, dtype=torch.long, device=x0.device)
            x_t = self.q_sample(x0, t)
        for step in reversed(range(self.steps)):
            t = torch.full((batch,), step, dtype=torch.long, device=x0.device)
            x0_hat = denoiser(x_t, t)
            mean = self.posterior_mean(x0_hat, x_t, t)
            if cfg.sampling_noise and step > 0:
                noise = torch.randn(x_t.shape, generator=generator).to(x_t.device)
                x_t = mean + self._at(self.posterior_variance, t, x_t).sqrt() * noise
            else:
                x_t = mean
        return x_t
