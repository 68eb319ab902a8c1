"""One Gaussian diffusion core for every diffusion augmenter (DiffKG, RecDiff, DiffMM).

The three reference repositories each copy the same class; kgrec has one, here.
"""

from kgrec.diffusion.denoiser import Denoiser, timestep_embedding
from kgrec.diffusion.gaussian import DiffusionConfig, GaussianDiffusion

__all__ = ["Denoiser", "DiffusionConfig", "GaussianDiffusion", "timestep_embedding"]
