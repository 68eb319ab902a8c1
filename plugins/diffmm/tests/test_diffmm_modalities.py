"""Any number of modalities, named by the data; the fused encoder and the contrast."""

import numpy as np
import pytest
import torch

from kgrec import Batch
from kgrec.testing import tiny_data


def _with_modalities(count, seed=0):
    rng = np.random.default_rng(seed)
    data = tiny_data()
    names = ["smell", "touch", "taste"][:count]
    return data.replace(modalities={n: rng.normal(size=(data.num_items, 3 + k)).astype(np.float32)
                                    for k, n in enumerate(names)})


def _batch(data, size=16):
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, len(data.train), (size,), generator=g)
    return Batch(torch.as_tensor(data.train.users)[idx], torch.as_tensor(data.train.items)[idx],
                 torch.randint(0, data.num_items, (size,), generator=g))


@pytest.mark.parametrize("count", [1, 2, 3])
@pytest.mark.parametrize("cl_method", [0, 1])
def test_one_two_or_three_modalities_train_end_to_end(make, count, cl_method):
    data = _with_modalities(count)
    if count == 1 and cl_method == 0:
        with pytest.warns(UserWarning, match="one modality"):
            built = make(data, cl_method=cl_method, diffusion={"batch_size": 32})
    else:
        built = make(data, cl_method=cl_method, diffusion={"batch_size": 32})
    aug = built.aug
    assert aug.names == list(data.modalities)
    assert set(aug.modalities.projections) == set(data.modalities)
    assert aug.modalities.weights().shape == (count,)
    stats = aug.fit_epoch(built.ctx)
    assert {f"diffusion_{n}" for n in data.modalities} <= set(stats)
    emb, view = built.forward()
    assert emb.users.shape == (data.num_users, 64) and emb.items.shape == (data.num_items, 64)
    terms = aug.loss(emb, _batch(data), built.ctx)
    pairs = count if cl_method == 1 else count * (count - 1) // 2
    assert ("contrast" in terms) == (pairs > 0)
    loss = sum(built.model.loss(emb, _batch(data), view).values()) + sum(terms.values())
    loss.backward()
    for name in data.modalities:  # every modality's projection is trained
        grads = [p.grad for p in aug.modalities.projections[name].parameters()]
        assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_fusion_is_a_convex_combination(make):
    """Three copies of one modality (same projection) fuse to exactly that modality alone."""
    one, three = _with_modalities(1), None
    feats = one.modalities["smell"]
    three = one.replace(modalities={"a": feats, "b": feats, "c": feats})
    single = make(one, modal_graphs="original", contrast=False)
    triple = make(three, modal_graphs="original", contrast=False)
    triple.model.load_state_dict(single.model.state_dict())
    for name in ("a", "b", "c"):
        triple.aug.modalities.projections[name].load_state_dict(
            single.aug.modalities.projections["smell"].state_dict())
    with torch.no_grad():
        triple.aug.modalities.modal_weight.copy_(torch.tensor([0.3, -1.0, 2.0]))
    a, _ = single.forward()
    b, _ = triple.forward()
    torch.testing.assert_close(a.users, b.users, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a.items, b.items, rtol=1e-5, atol=1e-6)


def test_refine_adds_the_normalised_fused_residual(make):
    built = make(modal_graphs="original", ris_lambda=0.5)
    view = built.ctx.view = built.aug.transform(built.ctx.base, built.ctx)
    fused = torch.cat([view.users, view.items])
    encoded = built.model.encode(view)
    refined = built.aug.refine(encoded, built.ctx)
    expected = torch.cat([encoded.users, encoded.items]) + 0.5 * torch.nn.functional.normalize(fused, dim=1)
    torch.testing.assert_close(torch.cat([refined.users, refined.items]), expected)


def test_no_diffusion_ablation_uses_the_original_graph(make):
    built = make(modal_graphs="original")
    assert built.aug.denoising is None
    assert built.aug.fit_epoch(built.ctx) == {}
    assert all(g is built.aug.main_graph for g in built.aug.graphs.values())
    assert built.aug.get_extra_state() == {}
    # no denoiser parameters at all, so nothing but projections and fusion weights
    names = {n for n, _ in built.aug.named_parameters()}
    assert names and all(n.startswith("modalities.") for n in names)


def test_contrast_switch_and_weight(make):
    data = tiny_data()
    off = make(data, contrast=False)
    emb, _ = off.forward()
    assert off.aug.loss(emb, _batch(data), off.ctx) == {}
    low, high = make(data, ssl_reg=0.01, cl_method=1), make(data, ssl_reg=0.02, cl_method=1)
    t_low = low.aug.loss(low.forward()[0], _batch(data), low.ctx)["contrast"]
    t_high = high.aug.loss(high.forward()[0], _batch(data), high.ctx)["contrast"]
    torch.testing.assert_close(t_high, 2 * t_low)


def test_views_work_with_a_backbone_that_does_not_propagate(make):
    """MF returns its inputs, yet each modality view still differs (it carries A_m)."""
    built = make(recommender="mf", cl_method=0)
    built.aug.fit_epoch(built.ctx)
    views = built.aug.modality_views(built.ctx)
    assert len(views) == 2 and not torch.allclose(views[0].users, views[1].users)


def test_contrast_loss_matches_the_reference_formula_with_repeated_nodes():
    from kgrec_diffmm.encoder import contrast_loss

    g = torch.Generator().manual_seed(0)
    a = torch.randn(12, 5, generator=g, requires_grad=True)
    b = torch.randn(12, 5, generator=g, requires_grad=True)
    nodes = torch.tensor([3, 3, 3, 0, 7, 0, 11])

    def reference(a, b):  # Utils.contrastLoss, computed per (repeated) node
        a, b = torch.nn.functional.normalize(a, dim=1), torch.nn.functional.normalize(b, dim=1)
        pa, pb = a[nodes], b[nodes]
        nume = torch.exp((pa * pb).sum(-1) / 0.5)
        deno = torch.exp(pa @ b.T / 0.5).sum(-1)
        return -torch.log(nume / deno).mean()

    got, want = contrast_loss(a, b, nodes, 0.5), reference(a, b)
    torch.testing.assert_close(got, want)
    grads = torch.autograd.grad(got, (a, b))
    expected = torch.autograd.grad(want, (a, b))
    for x, y in zip(grads, expected):
        torch.testing.assert_close(x, y)
