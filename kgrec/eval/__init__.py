"""Full-ranking evaluation: overall, per user, and per user or item group."""

from kgrec.eval.groups import Groups, item_popularity_groups, user_degree_groups
from kgrec.eval.metrics import ranking_metrics
from kgrec.eval.ranking import Positives, UserMetrics, evaluate, evaluate_users

__all__ = ["Groups", "Positives", "UserMetrics", "evaluate", "evaluate_users",
           "item_popularity_groups", "ranking_metrics", "user_degree_groups"]
