"""Runs: one configuration in, a run directory and metrics out."""

from kgrec.experiment.run import RunResult, check_requirements, resume_experiment, run_experiment

__all__ = ["RunResult", "check_requirements", "resume_experiment", "run_experiment"]
