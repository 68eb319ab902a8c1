"""DiffMM end to end: short runs with each backbone, presets, determinism, checkpointed graphs."""

import io

import pytest
import torch

import kgrec
from kgrec.testing import AugmenterContract, tiny_run
from kgrec_diffmm import DiffMM

BACKBONES = ["lightgcn", "gcn", "mf"]


class TestDiffMMContract(AugmenterContract):
    name = "diffmm"
    options = {"diffmm": {"diffusion": {"batch_size": 64}}}


@pytest.mark.parametrize("recommender", BACKBONES)
def test_short_run_with_each_backbone(tmp_path, recommender):
    result = tiny_run("diffmm", recommender, tmp_path / recommender, epochs=2,
                      options={"diffmm": {"diffusion": {"batch_size": 64}}})
    row = result.history[0]
    assert {"contrast", "fit_diffusion_image", "fit_align_audio", "graph_image_edges",
            "graph_audio_kept", "graph_audio_new"} <= set(row)
    U = 80  # tiny data: top-1 item per user, half the pairs dropped at keep_rate 0.5
    assert 0 < row["graph_image_edges"] <= U and 0 <= row["graph_image_new"] <= 1


def test_same_seed_same_result_and_ablations_change_it(tmp_path):
    def run(name, **options):
        result = tiny_run("diffmm", "lightgcn", tmp_path / name, epochs=2, seed=5,
                          options={"diffmm": {"diffusion": {"batch_size": 64}, **options}})
        return result.test

    first, again = run("a"), run("b")
    assert first == again
    assert run("no_diffusion", modal_graphs="original") != first


def test_presets_set_the_reference_values():
    config = kgrec.resolve_config({"augmenter": "diffmm", "recommender": "lightgcn",
                                   "preset": "tiktok"})
    aug = config.augmenter_config
    assert (aug.trans, aug.cl_method, aug.e_loss, aug.ssl_reg) == (1, 1, 0.1, 1e-2)
    assert config.recommender_config.reg == 1e-4 and config.train.epochs == 50
    # the reference's backbone: one layer (gnn_layer 1), L2 on the whole id tables, every epoch
    rec = config.recommender_config
    assert (rec.layers, rec.reg_on, rec.self_loops, rec.dim) == (1, "tables", True, 64)
    assert (config.train.patience, config.train.batch_size, config.train.lr) == (50, 1024, 1e-3)
    mf = kgrec.resolve_config({"augmenter": "diffmm", "recommender": "mf", "preset": "tiktok"})
    assert (mf.recommender_config.reg, mf.recommender_config.reg_on) == (1e-4, "input")
    sports = kgrec.resolve_config({"augmenter": "diffmm", "recommender": "mf", "preset": "sports",
                                   "diffmm": {"temp": 0.2}})
    assert sports.augmenter_config.temp == 0.2  # explicit settings beat the preset
    assert sports.augmenter_config.keep_rate == 1.0 and sports.recommender_config.reg == 1e-6
    assert set(DiffMM.presets) == {"tiktok", "baby", "sports"}


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


def test_the_run_tests_with_the_best_epochs_graphs(tmp_path):
    result = tiny_run("diffmm", "lightgcn", tmp_path / "run", epochs=3,
                      options={"diffmm": {"diffusion": {"batch_size": 64}}})
    saved = torch.load(tmp_path / "run" / "best.pt", weights_only=True)["augmenter"]["_extra_state"]
    trained = kgrec.load(result.run_dir)
    assert set(saved) == set(trained.augmenter.names)
    for name, parts in saved.items():
        assert torch.equal(trained.augmenter.graphs[name].src, parts["src"])
        assert torch.equal(trained.augmenter.graphs[name].weight, parts["weight"])
    assert trained.evaluate("test") == result.test
