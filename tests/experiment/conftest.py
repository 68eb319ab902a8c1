"""Finished runs on copies of the sample datasets, shared by the after-training tests: RecBole
tokens (string user and item ids) and FilmTrust (integer ids that are not indices)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

import kgrec

SAMPLES = Path(__file__).resolve().parents[2] / "datasets"


def finished_run(root: Path, sample: str, recommender: str = "lightgcn", epochs: int = 3,
                 augmenter: str = "none", **train) -> Path:
    data_dir = root / "data" / sample
    if not data_dir.exists():
        shutil.copytree(SAMPLES / sample, data_dir)
    out = root / f"{sample}-{augmenter}-{recommender}-{epochs}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the samples' documented repairs
        kgrec.run({"recommender": recommender, "augmenter": augmenter, "dataset": str(data_dir),
                   "train": {"epochs": epochs, "backend": "torch", "device": "cpu", "seed": 0,
                             "batch_size": 64, "lr": 0.01, "patience": 10, **train}},
                  out=out, progress=False, log=None)
    return out


@pytest.fixture(scope="session")
def recbole_run(tmp_path_factory) -> Path:
    """lightgcn on datasets/sample-recbole (ids like 'u6', 'i19')."""
    return finished_run(tmp_path_factory.mktemp("after"), "sample-recbole")


@pytest.fixture(scope="session")
def filmtrust_run(tmp_path_factory) -> Path:
    """mf on datasets/sample-filmtrust (integer ids that are not 0..n-1)."""
    return finished_run(tmp_path_factory.mktemp("after"), "sample-filmtrust", "mf")


@pytest.fixture(scope="session")
def make_run():
    """:func:`finished_run`, for tests that need a run of their own."""
    return finished_run
