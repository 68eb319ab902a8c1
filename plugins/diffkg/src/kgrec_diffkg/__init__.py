"""DiffKG (WSDM 2024): knowledge-graph diffusion as a kgrec augmenter (``--augmenter diffkg``)."""

from kgrec_diffkg.augmenter import DiffKG
from kgrec_diffkg.config import PRESETS, DiffKGConfig

__all__ = ["DiffKG", "DiffKGConfig", "PRESETS"]
