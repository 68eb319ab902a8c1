"""RecDiff's options and the paper's per-dataset settings.

Defaults are the reference ``param.py`` values (its Ciao setting); the presets add what the
reference's ``scripts/run_<dataset>.sh`` pass. Every reference run evaluates every 5 epochs,
for at most 150 epochs, stopping after 20 evaluations without improvement, and decays every
learning rate by 0.985 per epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from kgrec.diffusion import DiffusionConfig


@dataclass
class RecDiffConfig:
    """Options of the ``recdiff`` augmenter."""

    mode: Literal["diffusion", "none", "dae"] = "diffusion"
    """``diffusion`` (RecDiff); ``none``: add the social embedding as is (the paper's "-D"
    ablation); ``dae``: a one-step denoising autoencoder in place of diffusion ("DAE")."""
    s_layers: int = 2
    """Social GCN layers."""
    weight: bool = True
    """Learnable square weight per social GCN layer (the reference's ``--weight``)."""
    negative_slope: float = 0.5
    """LeakyReLU slope after each social layer."""
    social_direction: Literal["both", "as_given", "reverse"] = "both"
    """Social messages: both ways; ``as_given`` trustor -> trustee, as the reference's
    directed DGL graph; ``reverse`` trustee -> trustor. The same on symmetric data."""
    steps: int = 20
    """Diffusion steps T (20 Ciao, 50 Yelp, 200 Epinions)."""
    noise_schedule: Literal["linear-var", "linear"] = "linear-var"
    """``linear-var``: 1 - alpha_bar grows linearly (reference default); ``linear``: betas do."""
    noise_scale: float = 1.0
    """Scales noise_min and noise_max (1 on Ciao, 0.1 otherwise)."""
    noise_min: float = 1e-4
    """Lower end of the noise line."""
    noise_max: float = 0.01
    """Upper end of the noise line."""
    beta_fixed: bool = False
    """Fix beta_0 = 1e-4 as DiffKG/DiffMM do; RecDiff's reference does not."""
    reweight: bool = True
    """Weight each user's MSE by SNR(t-1) - SNR(t) (1 at t = 0)."""
    sampling_steps: int = 0
    """Inference noises s_u to this step before the reverse chain; 0 starts from s_u."""
    sampling_noise: bool = False
    """Add posterior noise in the reverse chain (off: deterministic)."""
    dims: tuple[int, ...] = (64,)
    """Hidden sizes of the denoiser (d -> dims -> d)."""
    emb_size: int = 16
    """Size of the sinusoidal timestep embedding."""
    norm: bool = True
    """L2-normalise the denoiser's input."""
    dropout: float = 0.5
    """Dropout on the denoiser's input."""
    difflr: float = 1e-3
    """Adam learning rate of the denoiser (the social GCN uses train.lr)."""
    dae_noise: float = 0.1
    """``dae`` mode: std of the Gaussian corruption (sqrt of noise_max at scale 1)."""

    def __post_init__(self) -> None:
        if self.s_layers < 0 or self.emb_size < 1 or self.difflr <= 0:
            raise ValueError("need s_layers >= 0, emb_size >= 1, difflr > 0")
        if not 0 <= self.dropout < 1 or self.dae_noise < 0 or any(d < 1 for d in self.dims):
            raise ValueError("need 0 <= dropout < 1, dae_noise >= 0 and positive dims")
        self.diffusion()  # validates the schedule fields

    def diffusion(self) -> DiffusionConfig:
        """The shared core's schedule and loss settings."""
        return DiffusionConfig(
            steps=self.steps, noise_scale=self.noise_scale, noise_min=self.noise_min,
            noise_max=self.noise_max, schedule=self.noise_schedule, beta_fixed=self.beta_fixed,
            reweight=self.reweight, sampling_steps=self.sampling_steps,
            sampling_noise=self.sampling_noise)


_TRAIN = {"epochs": 150, "patience": 20, "eval_every": 5, "lr_decay": 0.985}

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "ciao": {
        "augmenter": {"steps": 20, "noise_scale": 1.0, "difflr": 1e-3},
        "train": {**_TRAIN, "lr": 5e-3, "batch_size": 2048},
        "recommender": {"dim": 64, "reg": 1e-2},
    },
    "epinions": {
        "augmenter": {"steps": 200, "noise_scale": 0.1, "difflr": 1e-3},
        "train": {**_TRAIN, "lr": 1e-3, "batch_size": 4096},
        "recommender": {"dim": 64, "reg": 1e-4},
    },
    "yelp": {
        "augmenter": {"steps": 50, "noise_scale": 0.1, "difflr": 1e-4},
        "train": {**_TRAIN, "lr": 1e-3, "batch_size": 4096},
        "recommender": {"dim": 64, "reg": 5e-3},
    },
}
"""Named settings from the reference's ``scripts/run_{ciao,epinions,yelp}.sh``."""
