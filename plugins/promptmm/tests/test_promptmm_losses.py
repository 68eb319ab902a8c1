"""The distillation and teacher losses against direct computations of the reference's formulas
(``HKUDS/PromptMM`` ``codes/main.py``): each written here the way the reference writes it
(``nn.KLDivLoss`` on loss values, masks and ``F.kl_div(..., sum)`` for DKD, argsort truncation)."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kgrec import Batch
from kgrec.testing import forward, tiny_augmenter, tiny_context, tiny_model
from kgrec_promptmm.distill import (decoupled_kd, kl_on_values, list_probabilities, pair_losses,
                                    scaled_cosine_error, surprise)
from kgrec_promptmm.teacher import principal_components, teacher_loss


def kldiv(inp, target):
    """The reference's ``distillation``: ``nn.KLDivLoss()(y.unsqueeze(0), t.unsqueeze(0))``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.nn.KLDivLoss()(inp.unsqueeze(0), target.unsqueeze(0))


def test_kl_on_values_is_kldivloss_on_loss_values():
    g = torch.Generator().manual_seed(0)
    student = torch.rand(40, 11, generator=g) * 3
    teacher = torch.rand(40, 11, generator=g) * 3
    teacher[0, :3] = 0.0  # 0 * log 0 counts as 0, as in torch
    torch.testing.assert_close(kl_on_values(student, teacher), kldiv(student, teacher))
    # with gradients into the target (prompt_tuning = distillation) a zero target stays finite
    t = teacher.clone().requires_grad_(True)
    kl_on_values(student, t).backward()
    assert torch.isfinite(t.grad).all()


def dkd_reference(logits_s, logits_t, alpha, beta, temperature):
    """``dkd_loss`` (main.py:842-884), target = column 0."""
    target = torch.zeros(logits_s.shape[0], dtype=torch.long)
    gt = torch.zeros_like(logits_s).scatter_(1, target.unsqueeze(1), 1).bool()
    other = torch.ones_like(logits_s).scatter_(1, target.unsqueeze(1), 0).bool()

    def cat_mask(t):
        return torch.cat([(t * gt).sum(1, keepdim=True), (t * other).sum(1, keepdim=True)], dim=1)

    ps = cat_mask(F.softmax(logits_s / temperature, dim=1))
    pt = cat_mask(F.softmax(logits_t / temperature, dim=1))
    tckd = F.kl_div(torch.log(ps), pt, reduction="sum") * temperature ** 2 / target.shape[0]
    pt2 = F.softmax(logits_t / temperature - 1000.0 * gt, dim=1)
    ls2 = F.log_softmax(logits_s / temperature - 1000.0 * gt, dim=1)
    nckd = F.kl_div(ls2, pt2, reduction="sum") * temperature ** 2 / target.shape[0]
    return alpha * tckd + beta * nckd


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_decoupled_kd_matches_the_reference(temperature):
    g = torch.Generator().manual_seed(1)
    s = torch.randn(32, 11, generator=g).softmax(-1)  # the reference passes probabilities
    t = torch.randn(32, 11, generator=g).softmax(-1)
    torch.testing.assert_close(decoupled_kd(s, t, 100.0, 1.0, temperature),
                               dkd_reference(s, t, 100.0, 1.0, temperature))


def sce_reference(x, y, alpha, tip_rate):
    """``sce_criterion`` with ``loss_function``'s truncation (main.py:309-362)."""
    x, y = F.normalize(x, p=2, dim=-1), F.normalize(y, p=2, dim=-1)
    loss = (1 - (x * y).sum(dim=-1)).pow_(alpha)
    if tip_rate != 0:
        order = np.argsort(loss.detach().numpy())
        keep = int((1 - tip_rate) * len(loss))
        return loss[torch.as_tensor(order[:keep])].mean()
    return loss.mean()


@pytest.mark.parametrize("drop", [0.0, 0.2])
@pytest.mark.parametrize("gamma", [1.0, 2.0, 3.0])
def test_scaled_cosine_error_matches_the_reference(gamma, drop):
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(50, 8, generator=g), torch.randn(50, 8, generator=g)
    torch.testing.assert_close(scaled_cosine_error(a, b, gamma, drop), sce_reference(a, b, gamma, drop))


def built(recommender="lightgcn", **options):
    model = tiny_model(recommender)
    options.setdefault("teacher", {"epochs": 1, "batch_size": 256})
    options.setdefault("teacher_dropout", False)  # deterministic targets, for recomputing them
    aug = tiny_augmenter("promptmm", model, **options)
    aug.fit_epoch(tiny_context(model))
    assert aug.distilling
    return model, aug


def a_batch(aug, size=48, seed=3):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, aug.train_pairs.keys.numel(), (size,), generator=g)
    keys = aug.train_pairs.keys[idx]
    return Batch(keys // aug.num_items, keys % aug.num_items,
                 torch.randint(0, aug.num_items, (size,), generator=g))


def test_each_distillation_term_equals_the_reference_formula():
    model, aug = built(dkd_weight=0.5)
    batch = a_batch(aug)
    ctx = tiny_context(model, batch=batch, seed=7)
    emb = forward(model, aug, ctx)
    terms = aug.loss(emb, batch, ctx)
    names = aug.names
    assert set(terms) == {"kd_pair", "kd_dkd"} | {f"kd_{k}_{m}" for k in ("list", "emb") for m in names}
    t = aug.run_teacher(aug.best, training=False)
    u, p, n = batch.users, batch.pos_items, batch.neg_items

    def bpr_for_kd(ue, ie):  # bpr_loss_for_KD's mf_loss: -logsigmoid(pos - neg), per sample
        return -F.logsigmoid((ue[u] * ie[p]).sum(1) - (ue[u] * ie[n]).sum(1))

    pair = 0.01 * kldiv(bpr_for_kd(emb.users, emb.items), bpr_for_kd(t.users, t.items))
    torch.testing.assert_close(terms["kd_pair"], pair)
    # the candidate lists: the positive, then `negatives` items drawn from the step's generator
    g = torch.Generator().manual_seed(7)
    cands = torch.cat([p.unsqueeze(1), torch.randint(0, aug.num_items, (48, 10), generator=g)], 1)

    def list_scores(ue, ie):
        return torch.mul(ue[u].unsqueeze(1), ie[cands]).sum(-1).softmax(-1)

    s = list_scores(emb.users, emb.items)
    for m in names:
        tm = list_scores(t.modal_users[m], t.modal_items[m])
        want = 0.01 * kldiv(-(s + 1e-8).log(), -(tm + 1e-8).log())
        torch.testing.assert_close(terms[f"kd_list_{m}"], want)
        torch.testing.assert_close(terms[f"kd_emb_{m}"], 0.1 * sce_reference(t.modal_items[m], emb.items, 2.0, 0))
    torch.testing.assert_close(terms["kd_dkd"], 0.5 * dkd_reference(s, list_scores(t.users, t.items), 100.0, 1.0, 1.0))
    # the terms train the student only (the teacher is frozen under prompt_tuning = teacher)
    sum(terms.values()).backward()
    assert all(p.grad is not None for p in model.parameters())
    assert all(p.grad is None for p in aug.best.parameters())
    assert all(p.grad is None for p in aug.teacher.parameters())


def test_switches_and_weights():
    model, aug = built()
    batch = a_batch(aug)

    def terms(**changes):
        saved = {key: getattr(aug.config, key) for key in changes}
        for key, value in changes.items():
            setattr(aug.config, key, value)
        ctx = tiny_context(model, batch=batch, seed=7)
        out = aug.loss(forward(model, aug, ctx), batch, ctx)
        for key, value in saved.items():
            setattr(aug.config, key, value)
        return out

    full = terms()
    assert "kd_pair" not in terms(pair_kd=False) and "kd_pair" in full
    assert not any(k.startswith("kd_list") for k in terms(list_kd=False))
    assert not any(k.startswith("kd_emb") for k in terms(emb_kd=False))
    assert terms(pair_kd=False, list_kd=False, emb_kd=False) == {}
    doubled = terms(pair_weight=0.02, list_weight=0.02, emb_weight=0.2)
    for name, value in full.items():
        torch.testing.assert_close(doubled[name], 2 * value)


def test_teacher_loss_matches_the_reference_terms():
    model, aug = built()
    cfg = aug.config.teacher
    g = torch.Generator().manual_seed(5)
    u, pos, neg = aug.batches.batch(32, g)
    out = aug.run_teacher(aug.teacher, training=False)
    terms = teacher_loss(out, u, pos, neg, cfg, aug.num_items)

    def bpr(ue, ie):  # bpr_loss (main.py:914-925) with batch_size = 32
        pu, pp, pn = ue[u], ie[pos], ie[neg]
        mf = -torch.mean(F.logsigmoid((pu * pp).sum(1) - (pu * pn).sum(1)))
        reg = (1. / 2 * (pu ** 2).sum() + 1. / 2 * (pp ** 2).sum() + 1. / 2 * (pn ** 2).sum()) / 32
        return mf, cfg.reg * reg

    mf, reg = bpr(out.users, out.items)
    torch.testing.assert_close(terms["bpr"], mf)
    torch.testing.assert_close(terms["reg"], reg)
    torch.testing.assert_close(terms["prompt_bpr"], cfg.prompt_bpr_weight * bpr(out.prompt_users, out.prompt_items)[0])
    modal = sum(bpr(out.modal_users[m], out.modal_items[m])[0] for m in aug.names)
    torch.testing.assert_close(terms["modal_bpr"], cfg.modal_bpr_weight * modal)
    feat = sum(1. / 2 * (out.modal_items[m] ** 2).sum() + 1. / 2 * (out.modal_users[m] ** 2).sum()
               for m in aug.names) / aug.num_items
    torch.testing.assert_close(terms["feat_reg"], cfg.feat_reg * feat)


def test_list_helpers_shapes_and_surprise():
    users, items = torch.randn(5, 4), torch.randn(9, 4)
    probs = list_probabilities(users, items, torch.tensor([0, 4]), torch.tensor([[1, 2, 3], [8, 8, 0]]))
    assert probs.shape == (2, 3)
    torch.testing.assert_close(probs.sum(-1), torch.ones(2))
    torch.testing.assert_close(surprise(probs), -(probs + 1e-8).log())
    torch.testing.assert_close(pair_losses(users, items, torch.tensor([1]), torch.tensor([2]), torch.tensor([3])),
                               F.softplus(users[1] @ items[3] - users[1] @ items[2]).view(1))


def test_principal_components_match_scikit_learn():
    decomposition = pytest.importorskip("sklearn.decomposition")
    g = np.random.default_rng(0)
    x = g.normal(size=(200, 12)).astype(np.float32) @ g.normal(size=(12, 12)).astype(np.float32)
    ours = principal_components(torch.as_tensor(x), 5).numpy()
    theirs = decomposition.PCA(n_components=5, svd_solver="full").fit_transform(x)
    signs = np.sign((ours * theirs).sum(0))  # scikit-learn's sign convention changed in 1.5
    np.testing.assert_allclose(ours, theirs * signs, rtol=1e-3, atol=1e-3)
    # u-based convention: each component's largest-magnitude score is positive
    assert (ours[np.abs(ours).argmax(0), range(5)] > 0).all()
    # fewer feature columns than the embedding size: the extra columns are zero
    padded = principal_components(torch.as_tensor(x[:, :3]), 5)
    assert padded.shape == (200, 5) and torch.all(padded[:, 3:] == 0)
