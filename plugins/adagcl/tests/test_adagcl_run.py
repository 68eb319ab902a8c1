"""adagcl end to end through the real registry, config resolution and training loop."""

from __future__ import annotations

import csv
import math

from kgrec.testing import AugmenterContract, tiny_run


class TestAdaGCLContract(AugmenterContract):
    name = "adagcl"
    options = {"lightgcn": {"dim": 16}}


class TestAdaGCLContractAroundGCN(AugmenterContract):
    name = "adagcl"
    recommender = "gcn"
    options = {"gcn": {"dim": 16}}


def test_runs_logs_every_term_and_repeats_with_the_same_seed(tmp_path):
    first = tiny_run("adagcl", "lightgcn", tmp_path / "a", epochs=2, options={"lightgcn": {"dim": 16}})
    second = tiny_run("adagcl", "lightgcn", tmp_path / "b", epochs=2, options={"lightgcn": {"dim": 16}})
    assert all(math.isfinite(v) for v in first.test.values())
    assert first.test == second.test
    rows = list(csv.DictReader((tmp_path / "a" / "history.csv").open()))
    assert {"bpr", "cl", "ib", "generative", "denoising"} <= set(rows[0])
    assert all(float(r["cl"]) > 0 and float(r["ib"]) > 0 for r in rows)


def test_sslrec_preset_sets_backbone_and_training(tmp_path):
    out = tiny_run("adagcl", "lightgcn", tmp_path / "run", epochs=1,
                   options={"preset": "sslrec", "train": {"batch_size": 256}})
    cfg = out.config
    assert (cfg.recommender_config.dim, cfg.recommender_config.layers) == (32, 2)
    assert cfg.recommender_config.reg == 1e-5 and cfg.train.lr == 1e-3
    assert cfg.augmenter_config.cl_weight == 0.1 and cfg.augmenter_config.ib_weight == 0.01


def test_ablations_switch_terms_off(tmp_path):
    out = tiny_run("adagcl", "lightgcn", tmp_path / "run", epochs=1,
                   options={"lightgcn": {"dim": 16}, "adagcl": {"ib_weight": 0.0, "cl_weight": 0.0}})
    row = next(csv.DictReader((out.run_dir / "history.csv").open()))
    assert "ib" not in row and "cl" not in row and "generative" in row
