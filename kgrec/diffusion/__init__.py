"""The one diffusion core of every diffusion augmenter (DiffKG, RecDiff, DiffMM, yours).

- :class:`DiffusionConfig`: every setting, under the same names in every plugin;
- :class:`GaussianDiffusion`: the schedule, the forward process, the reweighted loss and the
  reverse chain, on vectors of any width (RecDiff's latent diffusion uses it as is);
- :class:`Denoiser`: the timestep-conditioned MLP that predicts ``x_0``;
- :class:`SparseRows` and :class:`RowDiffusion`: diffusion over the rows of a sparse 0/1
  matrix (DiffKG's KG rows, DiffMM's interaction rows): training pass, reverse chain, top-k.

The three reference repositories each copy the same class; kgrec has one, here. This module
is public API.
"""

from kgrec.diffusion.config import DiffusionConfig
from kgrec.diffusion.denoiser import Denoiser, timestep_embedding
from kgrec.diffusion.gaussian import GaussianDiffusion, make_betas
from kgrec.diffusion.rows import Objective, RowDiffusion, SparseRows

__all__ = ["Denoiser", "DiffusionConfig", "GaussianDiffusion", "Objective", "RowDiffusion",
           "SparseRows", "make_betas", "timestep_embedding"]
