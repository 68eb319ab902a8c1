"""Datasets: the in-memory model (:class:`RecData`), loaders for on-disk formats, the default
synthetic generator, and splits."""

from kgrec.data.formats.kgrec_dir import load_kgrec_dir, save_kgrec_dir
from kgrec.data.load import load_dataset
from kgrec.data.recdata import Interactions, KnowledgeGraph, RecData, SocialGraph
from kgrec.data.stats import describe
from kgrec.data.synthetic import SyntheticConfig, make_synthetic

__all__ = [
    "RecData", "Interactions", "KnowledgeGraph", "SocialGraph",
    "load_dataset", "make_synthetic", "SyntheticConfig", "describe",
    "save_kgrec_dir", "load_kgrec_dir",
]
