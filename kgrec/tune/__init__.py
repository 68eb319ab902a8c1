"""``kgrec tune``: hyper-parameter search with Optuna over :func:`kgrec.run` (TPE, median
pruning on validation curves, resumable SQLite or any Optuna storage), never reading the
test split. ``space`` declares and overrides what is searched; ``runner`` runs it. See
docs/studies.md.
"""

from kgrec.tune.runner import TuneResult, best_config_of, tune, tuning_data
from kgrec.tune.space import (TRAIN_SPACE, Dist, build_space, check_component_space, parse_dist,
                              read_override)

__all__ = ["Dist", "TRAIN_SPACE", "TuneResult", "best_config_of", "build_space",
           "check_component_space", "parse_dist", "read_override", "tune", "tuning_data"]
