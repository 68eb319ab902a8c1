"""PromptMM: multi-modal knowledge distillation with prompt-tuning, as a kgrec augmenter
(``promptmm``) that trains any registered backbone as the student."""

from kgrec_promptmm.augmenter import PromptMM
from kgrec_promptmm.config import PRESETS, PromptMMConfig, TeacherConfig

__all__ = ["PRESETS", "PromptMM", "PromptMMConfig", "TeacherConfig"]
