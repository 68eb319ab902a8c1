"""Any number of modalities, named by the data, and the presets."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import kgrec
from kgrec import Batch
from kgrec.testing import forward, tiny_augmenter, tiny_context, tiny_data, tiny_model, tiny_setup

TIKTOK = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "tiktok"


def with_modalities(count, seed=0):
    rng = np.random.default_rng(seed)
    data = tiny_data()
    names = ["smell", "touch", "taste"][:count]
    return data.replace(modalities={n: rng.normal(size=(data.num_items, 3 + 9 * k)).astype(np.float32)
                                    for k, n in enumerate(names)})


@pytest.mark.parametrize("count", [1, 2, 3])
def test_one_two_or_three_modalities(count):
    data = with_modalities(count)
    model = tiny_model("lightgcn", tiny_setup(data))
    aug = tiny_augmenter("promptmm", model, teacher={"epochs": 1, "batch_size": 256})
    assert aug.names == list(data.modalities) and len(aug.teacher.project) == count
    stats = aug.fit_epoch(tiny_context(model))
    assert aug.distilling and np.isfinite(list(stats.values())).all()
    batch = Batch(torch.as_tensor(data.train.users[:32]), torch.as_tensor(data.train.items[:32]),
                  torch.randint(0, data.num_items, (32,)))
    ctx = tiny_context(model, batch=batch)
    terms = aug.loss(forward(model, aug, ctx), batch, ctx)
    assert set(terms) == {"kd_pair"} | {f"kd_{k}_{m}" for k in ("list", "emb") for m in data.modalities}
    assert all(torch.isfinite(t) for t in terms.values())
    # hard tokens average every modality's principal components
    assert aug.hard_items.shape == (data.num_items, aug.dim)


def test_presets_set_the_reference_tiktok_values():
    config = kgrec.resolve_config({"augmenter": "promptmm", "recommender": "lightgcn", "preset": "tiktok"})
    aug, rec, train = config.augmenter_config, config.recommender_config, config.train
    t = aug.teacher
    assert (t.lr, t.weight_decay, t.batch_size, t.layers, t.dropout) == (1.1e-3, 1e-3, 1024, 2, 0.4)
    assert (t.model_cat_rate, t.soft_token_rate, t.feat_soft_token_rate, t.prompt_bpr_weight) == (0.028, 0.1, 9.0, 1e10)
    assert (t.modal_bpr_weight, t.feat_reg, t.reg, t.epochs, t.patience) == (1e-3, 1e-5, 1e-5, 1000, 8)
    assert (aug.pair_weight, aug.list_weight, aug.emb_weight, aug.emb_gamma) == (0.01, 0.01, 0.1, 2.0)
    assert (aug.negatives, aug.dkd_weight, aug.prompt_tuning, aug.student_init) == (10, 0.0, "teacher", "teacher")
    assert (rec.dim, rec.reg, rec.layers, rec.self_loops) == (32, 1e-5, 1, False)
    assert (train.lr, train.batch_size, train.select_metric) == (2e-3, 1024, "recall@20")
    mf = kgrec.resolve_config({"augmenter": "promptmm", "recommender": "mf", "preset": "tiktok"})
    assert (mf.recommender_config.dim, mf.recommender_config.reg) == (32, 1e-5)
    over = kgrec.resolve_config({"augmenter": "promptmm", "recommender": "mf", "preset": "tiktok",
                                 "promptmm": {"teacher": {"epochs": 3}, "list_kd": False}})
    assert over.augmenter_config.teacher.epochs == 3 and not over.augmenter_config.list_kd


def test_bad_settings_are_config_errors():
    for raw in ({"teacher": {"epochs": 0}}, {"negatives": 0}, {"stage": "teacher", "teacher_from": "x"},
                {"prompt_tuning": "distillation", "teacher": {"prompt": False}}, {"emb_drop_rate": 1.0}):
        with pytest.raises(kgrec.ConfigError):
            kgrec.resolve_config({"augmenter": "promptmm", "recommender": "mf", "promptmm": raw})


@pytest.mark.skipif(not TIKTOK.is_dir(), reason="no ../shared/data/tiktok here")
def test_tiktok_with_the_three_modality_stand_in(tmp_path):
    """TikTok (image, audio) plus issue 14's stand-in text features, in a copy outside the
    repository; one short run of both phases."""
    copy = tmp_path / "tiktok3"
    shutil.copytree(TIKTOK, copy)
    text = np.random.default_rng(0).standard_normal((6710, 768), dtype=np.float32)
    np.save(copy / "text_feat.npy", text)
    raw = {"augmenter": "promptmm", "recommender": "mf", "dataset": str(copy),
           "mf": {"dim": 16}, "promptmm": {"teacher": {"epochs": 1, "batch_size": 8192}, "negatives": 4},
           "train": {"epochs": 1, "batch_size": 8192, "device": "cpu", "backend": "torch"},
           "eval": {"topk": [20]}}
    result = kgrec.run(raw, out=tmp_path / "run", progress=False, log=None)
    row = result.history[0]
    assert {"kd_list_text", "kd_emb_text", "kd_list_image", "kd_list_audio"} <= set(row)
    assert np.isfinite(row["loss"]) and 0 <= result.test["recall@20"] <= 1
    trained = kgrec.load(result.run_dir)
    assert sorted(trained.augmenter.names) == ["audio", "image", "text"]
    assert trained.augmenter.features["text"].shape == (6710, 768)
