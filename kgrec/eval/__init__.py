"""Full-ranking evaluation (and the weaker sampled protocol): overall, per user, and per user
or item group."""

from kgrec.eval.groups import Groups, item_popularity_groups, user_degree_groups
from kgrec.eval.metrics import ranking_metrics
from kgrec.eval.ranking import Positives, UserMetrics, evaluate, evaluate_users
from kgrec.eval.sampled import sample_negatives

__all__ = ["Groups", "Positives", "UserMetrics", "evaluate", "evaluate_users",
           "item_popularity_groups", "ranking_metrics", "sample_negatives", "user_degree_groups"]
