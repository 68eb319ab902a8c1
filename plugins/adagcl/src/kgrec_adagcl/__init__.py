"""AdaptiveGCL (Jiang et al., KDD 2023) as a kgrec augmenter, built on kgrec's public API only."""

from kgrec_adagcl.augmenter import AdaGCL
from kgrec_adagcl.config import PRESETS, AdaGCLConfig

__all__ = ["AdaGCL", "AdaGCLConfig", "PRESETS"]
