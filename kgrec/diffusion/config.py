"""``DiffusionConfig``: every setting of a diffusion model, under one set of names.

Each diffusion augmenter nests one of these in its own config as the field ``diffusion``, so
the same key means the same thing everywhere: ``--set diffkg.diffusion.steps=5``,
``--set diffmm.diffusion.hidden=[1000]``, ``--set recdiff.diffusion.lr=1e-4``. A plugin gives
its own defaults with ``field(default_factory=lambda: DiffusionConfig(...))``; a ``--set`` of
one nested key keeps the plugin's defaults for the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kgrec.diffusion.denoiser import Denoiser


@dataclass
class DiffusionConfig:
    """Schedule, denoiser and optimiser of one diffusion model (defaults: DiffKG / DiffMM's).

    Reference names: ``steps`` (steps), ``noise_scale`` / ``noise_min`` / ``noise_max``
    (noise_scale / noise_min / noise_max), ``sampling_steps`` (sampling_steps), ``hidden``
    (dims), ``time_dim`` (d_emb_size; RecDiff: emb_size), ``normalize_input`` (norm),
    ``lr`` (lr; RecDiff: difflr), ``batch_size`` (batch).
    """

    steps: int = 5
    """Diffusion steps T."""
    noise_scale: float = 0.1
    """Scales noise_min and noise_max."""
    noise_min: float = 1e-4
    """Lower end of the noise line (before noise_scale)."""
    noise_max: float = 0.02
    """Upper end of the noise line (before noise_scale)."""
    schedule: Literal["linear-var", "linear"] = "linear-var"
    """``linear-var``: 1 - alpha_bar grows linearly; ``linear``: betas grow linearly (RecDiff's option)."""
    beta_fixed: bool = True
    """Fix beta_0 = 1e-4, as DiffKG and DiffMM do (RecDiff does not)."""
    reweight: bool = True
    """Weight each example's MSE by SNR(t-1) - SNR(t) (1 at t = 0)."""
    sampling_steps: int = 0
    """Inference starts the reverse chain from q(x_s | x_0) at this step; 0 starts from x_0."""
    sampling_noise: bool = False
    """Add posterior noise in the reverse chain (off: the chain is deterministic)."""
    hidden: tuple[int, ...] = (1000,)
    """Hidden sizes of the denoiser MLP (width -> hidden -> width)."""
    time_dim: int = 10
    """Size of the denoiser's sinusoidal timestep embedding."""
    normalize_input: bool = False
    """L2-normalise the denoiser's input rows."""
    dropout: float = 0.5
    """Dropout on the denoiser's input."""
    lr: float = 1e-3
    """Adam learning rate of the denoiser."""
    batch_size: int = 1024
    """Rows per denoiser step and per reverse-chain block (row diffusion; a latent diffusion
    trained with the backbone's batches ignores it)."""
    precision: Literal["float32", "bfloat16"] = "float32"
    """Row diffusion's dense denoiser matmuls (training and reverse chain): ``bfloat16``
    autocasts them, about 3x faster on CPUs with AVX512-BF16 and on GPUs, at a measured
    accuracy cost (docs/benchmarks.md); losses and the chain's running state stay float32."""

    def __post_init__(self) -> None:
        checks = [
            (self.steps >= 1, "steps must be >= 1"),
            (0 <= self.sampling_steps <= self.steps, "sampling_steps must be within 0..steps"),
            (self.noise_scale >= 0 and 0 <= self.noise_min <= self.noise_max < 1,
             "need noise_scale >= 0 and 0 <= noise_min <= noise_max < 1"),
            (len(self.hidden) >= 1 and min(self.hidden) >= 1, "hidden must list positive sizes"),
            (self.time_dim >= 1, "time_dim must be >= 1"),
            (0 <= self.dropout < 1, "dropout must be in [0, 1)"),
            (self.lr > 0 and self.batch_size >= 1, "need lr > 0 and batch_size >= 1"),
            (self.schedule in ("linear-var", "linear"), "schedule must be linear-var or linear"),
            (self.precision in ("float32", "bfloat16"), "precision must be float32 or bfloat16"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def denoiser(self, width: int) -> Denoiser:
        """A fresh :class:`~kgrec.diffusion.Denoiser` for rows of ``width`` with these settings."""
        return Denoiser(width, hidden=self.hidden, time_dim=self.time_dim,
                        normalize_input=self.normalize_input, dropout=self.dropout)
