"""The recdiff augmenter: hooks, ablations, optimiser groups, presets, end to end."""

import dataclasses

import pytest
import torch

from kgrec import Batch, ConfigError, MissingDataError
from kgrec.testing import (AugmenterContract, component_config, tiny_augmenter, tiny_context,
                           tiny_data, tiny_model, tiny_run, tiny_setup)
from kgrec_recdiff import RecDiff


class TestRecDiffContract(AugmenterContract):
    name = "recdiff"
    recommender = "gcn"


class TestRecDiffContractAroundLightGCN(AugmenterContract):
    name = "recdiff"
    recommender = "lightgcn"


def _build(mode="diffusion", recommender="gcn", dim=64, **options):
    setup = tiny_setup(dim=dim)
    model = tiny_model(recommender, setup)
    return model, tiny_augmenter("recdiff", model, mode=mode, **options), setup


def _ctx(model, setup, training, batch=None):
    return tiny_context(model, training=training, batch=batch)


def _batch(users):
    users = torch.as_tensor(users)
    return Batch(users, torch.zeros_like(users), torch.ones_like(users))


def test_training_refine_adds_the_denoised_social_embedding_and_its_loss_trains_all_parts():
    model, aug, setup = _build()
    ctx = _ctx(model, setup, training=True, batch=_batch([0, 3, 3, 7]))
    emb = model.encode(ctx.base)
    refined = aug.refine(emb, ctx)
    assert refined.items is emb.items
    delta = refined.users - emb.users
    s = aug.social_embeddings(ctx)
    assert delta.shape == s.shape and not torch.allclose(delta, s)  # a denoised prediction
    assert set(ctx.losses) == {"diffusion"} and torch.isfinite(ctx.losses["diffusion"])
    assert aug.loss(refined, ctx.batch, ctx) == {}  # the loss travels in the step's record
    (ctx.losses["diffusion"] + refined.users[:4].sum()).backward()
    for name, part in (("denoiser", aug.denoise.denoiser), ("social GCN", aug.social)):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters()), name
    assert model.user_emb.weight.grad.abs().sum() > 0
    no_batch = _ctx(model, setup, training=True)
    aug.refine(emb, no_batch)
    assert no_batch.losses == {}  # no batch (fit_epoch-like contexts): nothing to average over


def test_inference_runs_the_deterministic_reverse_chain_from_s():
    model, aug, setup = _build()
    aug.eval()
    with torch.no_grad():
        emb = model.encode(model.view())
        first = aug.refine(emb, _ctx(model, setup, training=False)).users
        torch.randn(10)  # the global RNG state must not matter
        second = aug.refine(emb, _ctx(model, setup, training=False)).users
        s = aug.social_embeddings(_ctx(model, setup, training=False))
        chain = aug.denoise.diffusion.sample(aug.denoise.denoiser, s)
    assert torch.equal(first, second)
    torch.testing.assert_close(first, emb.users + chain)


def test_no_diffusion_ablation_adds_s_directly():
    model, aug, setup = _build(mode="none")
    ctx = _ctx(model, setup, training=True, batch=_batch([0, 1]))
    emb = model.encode(model.view())
    refined = aug.refine(emb, ctx)
    torch.testing.assert_close(refined.users, emb.users + aug.social_embeddings(ctx))
    assert ctx.losses == {}
    assert len(aug.param_groups()) == 1 and all("lr" not in g for g in aug.param_groups())


def test_dae_ablation_trains_one_step_and_infers_one_pass():
    model, aug, setup = _build(mode="dae")
    emb = model.encode(model.view())
    ctx = _ctx(model, setup, True, batch=_batch([1, 2]))
    aug.refine(emb, ctx)
    assert set(ctx.losses) == {"dae"} and torch.isfinite(ctx.losses["dae"])
    aug.eval()
    with torch.no_grad():
        ctx = _ctx(model, setup, False)
        s = aug.social_embeddings(ctx)
        out = aug.refine(emb, ctx).users
        step0 = torch.zeros(s.shape[0], dtype=torch.long)
        torch.testing.assert_close(out, emb.users + aug.denoise.denoiser(s, step0))


def test_denoiser_has_its_own_learning_rate_and_one_adam_equals_the_references_two():
    model, aug, setup = _build(diffusion={"lr": 3e-4})
    groups = aug.param_groups()
    assert [g.get("lr") for g in groups] == [None, 3e-4]
    ids = {id(p) for g in groups for p in g["params"]}
    assert ids == {id(p) for p in aug.parameters()}  # every parameter is trained, once

    # kgrec's trainer: one Adam over [backbone] + param_groups, one StepLR. The reference: one
    # Adam (backbone + social GCN, lr) and one (denoiser, difflr), each with its StepLR.
    twin_model, twin_aug, _ = _build(diffusion={"lr": 3e-4})
    twin_model.load_state_dict(model.state_dict())
    twin_aug.load_state_dict(aug.state_dict())
    one = torch.optim.Adam([{"params": list(model.parameters())}] + groups, lr=2e-3)
    ref = [torch.optim.Adam(list(twin_model.parameters()) + list(twin_aug.social.parameters()), lr=2e-3),
           torch.optim.Adam(twin_aug.denoise.parameters(), lr=3e-4)]
    schedulers = [torch.optim.lr_scheduler.StepLR(o, 1, gamma=0.5) for o in [one, *ref]]
    batch = _batch([0, 3, 5, 9])
    for epoch in range(2):
        for m, a, opts in ((model, aug, [one]), (twin_model, twin_aug, ref)):
            torch.manual_seed(epoch)
            ctx = _ctx(m, setup, True, batch=batch)
            emb = a.refine(m.encode(m.view()), ctx)
            loss = sum(m.loss(emb, batch, m.view()).values()) + ctx.losses["diffusion"]
            for o in opts:
                o.zero_grad()
            loss.backward()
            for o in opts:
                o.step()
        for sched in schedulers:
            sched.step()
    assert [g["lr"] for g in one.param_groups] == pytest.approx([5e-4, 5e-4, 7.5e-5])
    for mine, theirs in zip([*model.parameters(), *aug.parameters()],
                            [*twin_model.parameters(), *twin_aug.parameters()]):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-7)


def test_presets_set_the_papers_settings_for_any_recommender(tmp_path):
    ciao = RecDiff.presets["ciao"]
    assert ciao["train"] == {"epochs": 150, "patience": 20, "eval_every": 5, "lr_decay": 0.985,
                             "lr": 5e-3, "batch_size": 2048, "eval_batch_size": 1024}
    assert ciao["recommender"] == {"dim": 64, "reg": 1e-2}
    for rec in ("gcn", "lightgcn", "mf"):  # the recommender section fits every built-in
        fields = {f.name for f in dataclasses.fields(type(tiny_model(rec)).Config)}
        assert set(ciao["recommender"]) <= fields
    for name, steps, scale in (("ciao", 20, 1.0), ("epinions", 200, 0.1), ("yelp", 50, 0.1)):
        config = component_config("augmenter", "recdiff", **RecDiff.presets[name]["augmenter"])
        d = config.diffusion
        assert (d.steps, d.noise_scale, d.noise_max) == (steps, scale, 0.01)
    run = tiny_run("recdiff", "mf", tmp_path / "run", epochs=1,
                   options={"preset": "ciao", "recdiff": {"diffusion": {"steps": 7}}})
    assert run.config.augmenter_config.diffusion.steps == 7  # explicit settings beat the preset
    assert run.config.augmenter_config.diffusion.noise_scale == 1.0
    assert (run.config.train.lr, run.config.train.lr_decay) == (5e-3, 0.985)
    assert run.config.recommender_config.reg == 1e-2


def test_dimension_mismatch_and_missing_social_data_are_user_errors(tmp_path):
    setup = tiny_setup(dim=64)
    with pytest.raises(ConfigError):
        tiny_augmenter("recdiff", tiny_model("mf", setup, dim=32))
    with pytest.raises(MissingDataError):
        tiny_run("recdiff", "gcn", tmp_path / "x", data=tiny_data(social_ties_per_user=0))


@pytest.mark.parametrize("recommender", ["gcn", "lightgcn", "mf"])
def test_end_to_end_is_deterministic_for_a_seed(tmp_path, recommender):
    runs = [tiny_run("recdiff", recommender, tmp_path / f"r{i}", epochs=2, seed=3) for i in range(2)]
    assert runs[0].test == runs[1].test
    assert 0 < runs[0].test["recall@20"] <= 1
    assert all("diffusion" in row for row in runs[0].history)


def test_training_steps_report_the_size_of_the_social_correction(tmp_path):
    run = tiny_run("recdiff", "gcn", tmp_path / "run", epochs=1)
    ratio = run.history[0]["health_latent_ratio"]
    assert 0 < ratio < 100
    model, aug, setup = _build(mode="none")
    ctx = _ctx(model, setup, True, batch=_batch([0, 1]))
    emb = model.encode(ctx.base)
    aug.refine(emb, ctx)
    s = aug.social_embeddings(ctx).detach()
    expected = s.norm(dim=1).mean() / emb.users.detach().norm(dim=1).mean()
    assert ctx.reports["health_latent_ratio"] == pytest.approx(float(expected))
