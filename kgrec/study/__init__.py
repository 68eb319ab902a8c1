"""Comparative studies: a grid of datasets x augmenter variants x recommenders x noise x
seeds, run resumably through :func:`kgrec.run`, aggregated over seeds
with paired tests against a baseline, and reported as Markdown / CSV / JSON / PNG.

``grid`` parses and expands a study, ``runner`` runs and resumes it, ``stats`` aggregates,
``report`` and ``plots`` write the results. See docs/studies.md.
"""

from kgrec.study.grid import Cell, Study, expand, load_study, parse_study
from kgrec.study.report import write_report
from kgrec.study.runner import load_results, run_study

__all__ = ["Cell", "Study", "expand", "load_results", "load_study", "parse_study", "run_study",
           "write_report"]
