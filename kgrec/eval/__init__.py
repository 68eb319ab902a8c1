"""Full-ranking evaluation."""

from kgrec.eval.metrics import ranking_metrics
from kgrec.eval.ranking import Positives, evaluate

__all__ = ["Positives", "evaluate", "ranking_metrics"]
