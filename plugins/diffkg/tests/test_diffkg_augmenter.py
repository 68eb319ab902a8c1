"""DiffKG's hooks around a backbone, and short end-to-end runs."""

import json

import numpy as np
import pytest
import torch

import kgrec
from kgrec import ConfigError, MissingDataError
from kgrec.testing import (AugmenterContract, component_config, tiny_augmenter, tiny_context,
                           tiny_data, tiny_model, tiny_run, tiny_setup)


class TestDiffKGContract(AugmenterContract):
    name = "diffkg"
    options = {"diffkg": {"diffusion": {"batch_size": 32}}}


class TestDiffKGContractAroundMF(AugmenterContract):
    name = "diffkg"
    recommender = "mf"
    options = {"diffkg": {"cl_pattern": 1, "diffusion": {"batch_size": 20}}}


def make(recommender="lightgcn", data=None, batch=None, **options):
    """DiffKG around ``recommender`` on tiny data; ``batch`` is the denoiser's batch size."""
    setup = tiny_setup(data)
    model = tiny_model(recommender, setup)
    if batch is not None:
        options["diffusion"] = {"batch_size": batch}
    return setup, model, tiny_augmenter("diffkg", model, **options)


def kg_pairs(aug):
    return dict(zip(zip(aug.index.heads.tolist(), aug.index.tails.tolist()), aug.index.relations.tolist()))


def test_the_kg_encoder_trains_with_bpr_and_the_denoiser_on_its_own():
    _, _, aug = make()
    grouped = {id(p) for g in aug.param_groups() for p in g["params"]}
    assert grouped == {id(p) for p in aug.encoder.parameters()}
    own = {id(p) for g in aug.optimizers()["denoiser"].param_groups for p in g["params"]}
    assert own == {id(p) for p in aug.diffusion.parameters()} and not grouped & own


@pytest.mark.parametrize("recommender", ["lightgcn", "mf"])
def test_transform_feeds_kg_encoder_rows_as_item_inputs(recommender):
    setup, model, aug = make(recommender)
    aug.eval()
    ctx = tiny_context(model, training=False)
    view = aug.transform(ctx.base, ctx)
    entities = aug.encoder(setup.ops, aug.original)
    torch.testing.assert_close(view.items, entities[aug.item_entity])
    assert view.users is model.view().users
    emb = model.encode(view)
    (emb.items.sum() + emb.users.sum()).backward()
    assert aug.encoder.entity.grad is not None and model.item_emb.weight.grad is None


def test_items_without_an_entity_keep_the_backbone_embedding():
    data = tiny_data()
    item_entity = data.kg.item_entity.copy()
    item_entity[:7] = -1
    data = data.replace(kg=data.kg.__class__(**{**data.kg.__dict__, "item_entity": item_entity}))
    setup, model, aug = make(data=data)
    view = aug.transform(model.view(), tiny_context(model))
    assert torch.equal(view.items[:7], model.item_emb.weight[:7])
    assert not torch.equal(view.items[7:], model.item_emb.weight[7:])


def test_fit_epoch_rebuilds_a_kg_of_original_pairs():
    _, model, aug = make(batch=16, keep_rate=1.0)
    stats = aug.fit_epoch(tiny_context(model))
    assert {"elbo", "ckgc", "graph_kg_edges"} <= set(stats) and all(np.isfinite(list(stats.values())))
    g = aug.generated
    truth = kg_pairs(aug)
    assert g.num_edges > 0 and g is not aug.original
    assert all(truth.get((h, t)) == r for h, t, r in zip(g.dst.tolist(), g.src.tolist(), g.etype.tolist()))
    # the rebuilt KG is state: a fresh augmenter loading the state_dict encodes the same items
    _, _, fresh = make(batch=16, keep_rate=1.0)
    fresh.load_state_dict(aug.state_dict())
    assert torch.equal(fresh.generated.src, g.src) and torch.equal(fresh.generated.etype, g.etype)
    aug.eval(), fresh.eval()
    ctx = tiny_context(model, training=False)
    torch.testing.assert_close(fresh.transform(model.view(), ctx).items, aug.transform(model.view(), ctx).items)


def test_diffuse_every_skips_the_denoiser_but_redraws_the_dropout():
    _, model, aug = make(batch=16, keep_rate=0.5, diffuse_every=3)
    phases, edges = [], []
    for epoch in range(1, 6):
        stats = aug.fit_epoch(tiny_context(model, epoch=epoch, seed=epoch))
        phases.append("elbo" in stats)
        edges.append(aug.generated.dst.tolist())
    assert phases == [True, False, False, True, False]
    assert edges[1] != edges[2]  # a fresh keep-rate draw from the same candidates


def test_ablations_switch_the_generator():
    _, model, aug = make(kg_view="original")
    assert aug.diffusion is None and aug.fit_epoch(tiny_context(model)) == {}
    assert aug.generated is aug.original
    _, model, aug = make(kg_view="original-edge-dropout", keep_rate=0.5)
    stats = aug.fit_epoch(tiny_context(model))
    assert aug.diffusion is None and 0 < stats["graph_kg_edges"] < aug.original.num_edges
    _, model, aug = make(ckgc=False)
    assert "ckgc" not in aug.fit_epoch(tiny_context(model))
    _, model, aug = make(contrast=False, cl_pattern=1)  # the generated KG would reach nothing
    assert aug.diffusion is None
    assert aug.loss(None, None, tiny_context(model)) == {}


def test_contrast_uses_the_other_view():
    _, model, aug = make(ssl_reg=1.0)
    ctx = tiny_context(model)
    aug.fit_epoch(ctx)
    from kgrec import Batch

    batch = Batch(torch.arange(8), torch.arange(8), torch.arange(8, 16))
    emb = model.encode(aug.transform(model.view(), ctx))
    terms = aug.loss(emb, batch, ctx)
    assert set(terms) == {"contrast"} and terms["contrast"] > 0
    terms["contrast"].backward()
    assert aug.encoder.entity.grad.abs().sum() > 0


def test_lastfm_preset():
    cfg = kgrec.resolve_config({"augmenter": "diffkg", "recommender": "mf", "preset": "lastfm"})
    aug = cfg.augmenter_config
    assert (aug.layer_num_kg, aug.res_lambda, aug.triplet_num, aug.cl_pattern, aug.keep_rate,
            aug.e_loss, aug.mess_dropout) == (2, 0.0, -1, 1, 0.1, 0.01, 0.2)
    assert cfg.recommender_config.reg == 1e-5


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="cl_pattern"):
        component_config("augmenter", "diffkg", cl_pattern=2)
    with pytest.raises(ConfigError, match="kg_view"):
        component_config("augmenter", "diffkg", kg_view="magic")
    with pytest.raises(ConfigError, match="diffkg.batch; it is now diffkg.diffusion.batch_size"):
        component_config("augmenter", "diffkg", batch=32)


def test_the_best_epochs_kg_is_saved_and_restored(tmp_path):
    out = tiny_run("diffkg", "lightgcn", tmp_path / "run", epochs=3,
                   options={"diffkg": {"diffusion": {"batch_size": 32}}})
    assert all("contrast" in row and "fit_elbo" in row for row in out.history)
    saved = torch.load(tmp_path / "run" / "best.pt", weights_only=True)["augmenter"]["_extra_state"]
    restored = kgrec.load(out.run_dir).augmenter.generated
    assert torch.equal(restored.src, saved["src"]) and torch.equal(restored.etype, saved["etype"])


def test_needs_a_kg(tmp_path):
    with pytest.raises(MissingDataError, match="diffkg.*knowledge graph"):
        tiny_run("diffkg", "lightgcn", tmp_path / "run", data=tiny_data(triples_per_item=0))


@pytest.mark.parametrize("cl_pattern", [0, 1])
def test_as_run_trains_on_the_original_kg_and_tests_as_the_reference_does(cl_pattern):
    """HKUDS/DiffKG's Main.py binds the rebuilt KG to Model.forward's mess_dropout: both
    training views see the original KG; only a cl_pattern 0 test evaluation sees the rebuilt one."""
    _, model, aug = make(kg_view="as-run", cl_pattern=cl_pattern, keep_rate=1.0, batch=16)
    stats = aug.fit_epoch(tiny_context(model))
    assert "elbo" in stats and aug.generated is not aug.original  # the denoiser still runs
    assert aug.views(training=True) == (aug.original, aug.original)
    main, _ = aug.views(training=False)
    assert main is (aug.generated if cl_pattern == 0 else aug.original)
    aug.eval()
    ctx = tiny_context(model, training=False)
    expected = aug.item_inputs(main, ctx.base.items)
    torch.testing.assert_close(aug.transform(ctx.base, ctx).items, expected)


def test_entity_rows_train_ckgc_and_rebuild_from_every_entity():
    _, model, items = make(batch=16, keep_rate=1.0, columns="all")
    _, model, entities = make(batch=16, keep_rate=1.0, columns="all", rows="entities")
    assert entities.rows.num_rows == entities.index.num_entities > items.rows.num_rows
    stats = entities.fit_epoch(tiny_context(model))
    assert {"elbo", "ckgc", "kg_pairs", "graph_kg_edges", "graph_kg_kept"} <= set(stats)
    truth = kg_pairs(entities)
    g = entities.generated
    assert all(truth.get((h, t)) == r for h, t, r in zip(g.dst.tolist(), g.src.tolist(), g.etype.tolist()))
    assert stats["graph_kg_kept"] == pytest.approx(stats["graph_kg_edges"] / entities.index.num_pairs)


def test_a_nearly_empty_rebuilt_kg_is_logged_and_warned_about(tmp_path):
    with pytest.warns(UserWarning, match="kg"):
        run = tiny_run("diffkg", "lightgcn", tmp_path / "run", epochs=2,
                       options={"diffkg": {"keep_rate": 0.01, "diffusion": {"batch_size": 32}}})
    kept = [row["graph_kg_kept"] for row in run.history]
    assert all(0 <= k < 0.01 for k in kept)
    assert all(row["graph_kg_edges"] == round(k * KGIndexSize(run)) for row, k in zip(run.history, kept))


def KGIndexSize(run):
    """Pairs (with inverses) of the run's tiny KG: what graph_kg_kept is a share of."""
    from kgrec_diffkg.kg import KGIndex

    return KGIndex.build(tiny_data().kg, torch.device("cpu")).num_pairs


def test_reg_is_l2_on_every_encoder_parameter_every_step():
    _, model, aug = make(reg=1e-3, contrast=False)
    ctx = tiny_context(model)
    terms = aug.loss(None, None, ctx)
    expected = 1e-3 * sum(p.detach().pow(2).sum() for p in aug.encoder.parameters())
    assert set(terms) == {"kg_reg"}
    torch.testing.assert_close(terms["kg_reg"].detach(), expected)
    terms["kg_reg"].backward()
    torch.testing.assert_close(aug.encoder.entity.grad, 2e-3 * aug.encoder.entity.detach())
    _, model, none = make(contrast=False)
    assert none.loss(None, None, tiny_context(model)) == {}
