"""RecDiff as a kgrec augmenter: latent diffusion that denoises social embeddings."""

from kgrec_recdiff.augmenter import RecDiff
from kgrec_recdiff.config import PRESETS, RecDiffConfig

__all__ = ["PRESETS", "RecDiff", "RecDiffConfig"]
