"""DiffMM end to end: short runs with each backbone, presets, determinism, checkpointed graphs."""

import io
import json

import pytest
import torch

from kgrec import registry
from kgrec.config import EvalConfig, TrainConfig, resolve_run_config
from kgrec.testing import tiny_data, tiny_run
from kgrec.train.trainer import Trainer

BACKBONES = [r for r in ("lightgcn", "gcn", "mf") if r in registry.available("recommender")]


@pytest.mark.parametrize("recommender", BACKBONES)
def test_short_run_with_each_backbone(tmp_path, recommender):
    result = tiny_run("diffmm", recommender, tmp_path / recommender, epochs=2,
                      options={"diffmm": {"batch_size": 64}})
    metrics = json.loads((tmp_path / recommender / "metrics.json").read_text())
    assert 0 <= metrics["test"]["recall@20"] <= 1
    row = result.result.history[0]
    assert {"contrast", "fit_diffusion_image", "fit_align_audio", "fit_modal_edges"} <= set(row)


def test_same_seed_same_result_and_ablations_change_it(tmp_path):
    def run(name, **options):
        result = tiny_run("diffmm", "lightgcn", tmp_path / name, epochs=2, seed=5,
                          options={"diffmm": {"batch_size": 64, **options}})
        return result.result.test

    first, again = run("a"), run("b")
    assert first == again
    assert run("no_diffusion", diffusion=False) != first


def test_presets_set_the_reference_values():
    cls = registry.load("augmenter", "diffmm")
    config = resolve_run_config({"augmenter": "diffmm", "recommender": "lightgcn", "preset": "tiktok"},
                                registry.load("recommender", "lightgcn"), cls)
    aug = config.augmenter_config
    assert (aug.trans, aug.cl_method, aug.e_loss, aug.ssl_reg) == (1, 1, 0.1, 1e-2)
    assert config.recommender_config.reg == 1e-4 and config.train.epochs == 50
    sports = resolve_run_config({"augmenter": "diffmm", "recommender": "mf", "preset": "sports",
                                 "diffmm": {"temp": 0.2}},
                                registry.load("recommender", "mf"), cls)
    assert sports.augmenter_config.temp == 0.2  # explicit settings beat the preset
    assert sports.augmenter_config.keep_rate == 1.0 and sports.recommender_config.reg == 1e-6
    assert set(cls.presets) == {"tiktok", "baby", "sports"}


def test_rebuilt_graphs_survive_a_checkpoint(make):
    built = make(keep_rate=0.5)
    built.aug.fit_epoch(built.ctx)
    built.aug.eval()
    expected, _ = built.forward()
    buffer = io.BytesIO()
    torch.save({"model": built.model.state_dict(), "aug": built.aug.state_dict()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)  # how kgrec reads checkpoints
    fresh = make(keep_rate=0.5, seed=9)  # other initial weights, no rebuilt graphs yet
    assert all(g is fresh.aug.main_graph for g in fresh.aug.graphs.values())
    fresh.model.load_state_dict(state["model"])
    fresh.aug.load_state_dict(state["aug"])
    fresh.aug.eval()
    for name, graph in built.aug.graphs.items():
        assert torch.equal(fresh.aug.graphs[name].src, graph.src)
        assert torch.equal(fresh.aug.graphs[name].weight, graph.weight)
    got, _ = fresh.forward()
    torch.testing.assert_close(got.users, expected.users)
    torch.testing.assert_close(got.items, expected.items)


def test_trainer_tests_with_the_best_epochs_graphs(make, tmp_path):
    built = make()
    trainer = Trainer(built.model, built.aug, built.data, built.ctx.ops, torch.device("cpu"),
                      TrainConfig(epochs=3, batch_size=128, patience=3, backend="torch", device="cpu"),
                      EvalConfig(), built.ctx.generator, tmp_path / "best.pt", progress=False)
    trainer.fit()
    saved = torch.load(tmp_path / "best.pt", weights_only=True)["augmenter"]["_extra_state"]
    assert set(saved) == set(built.aug.names)
    for name, parts in saved.items():
        assert torch.equal(built.aug.graphs[name].src, parts["src"])
        assert torch.equal(built.aug.graphs[name].weight, parts["weight"])
