"""Runs: resolve a config, train, evaluate, record (:func:`run`, :func:`resume`), and load a
finished run back (:func:`load`). Everything that trains a model goes through here."""

from kgrec.experiment.load import TrainedRun, load
from kgrec.experiment.resolve import ConfigLike, resolve_config
from kgrec.experiment.run import (RunResult, build_components, check_requirements, resume,
                                  run)

__all__ = ["ConfigLike", "RunResult", "TrainedRun", "build_components", "check_requirements",
           "load", "resolve_config", "resume", "run"]
