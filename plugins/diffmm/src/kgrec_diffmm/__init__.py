"""DiffMM: multi-modal graph diffusion for recommendation, as a kgrec augmenter (``diffmm``)."""

from kgrec_diffmm.augmenter import DiffMM
from kgrec_diffmm.config import PRESETS, DiffMMConfig

__all__ = ["DiffMM", "DiffMMConfig", "PRESETS"]
