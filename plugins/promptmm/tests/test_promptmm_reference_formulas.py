"""The teacher's forward pass against a dense transcription of the reference's
``Teacher_Model.forward`` and ``PromptLearner`` (``codes/Models.py``) and its graph
normalisation (``csr_norm(mean_flag=True)``, ``codes/main.py:81-82``)."""

import pytest
import torch
import torch.nn.functional as F

from kgrec.testing import tiny_augmenter, tiny_model
from kgrec_promptmm.teacher import principal_components


def dense_graphs(aug):
    keys = aug.train_pairs.keys
    r = torch.zeros(aug.num_users, aug.num_items)
    r[keys // aug.num_items, keys % aug.num_items] = 1.0
    rowsum = (r.sum(1) + 1e-8).pow(-0.5)
    colsum = (r.sum(0) + 1e-8).pow(-0.5)
    return rowsum.unsqueeze(1) * r, colsum.unsqueeze(1) * r.T  # ui_graph, iu_graph


def reference_forward(aug, teacher):
    cfg = aug.config.teacher
    ui, iu = dense_graphs(aug)
    feats = aug.features
    # PromptLearner: PCA hard tokens averaged over modalities; users gather them over ui_graph
    item_hard = torch.mean(torch.stack([principal_components(feats[m], aug.dim) for m in aug.names]), dim=0)
    user_hard = torch.mm(ui, item_hard)
    prompt_user = teacher.prompt.users(user_hard)
    prompt_item = teacher.prompt.items(item_hard)
    modal_user, modal_item = {}, {}
    for m, trans in zip(aug.names, teacher.project):
        feat_prompt = torch.mm(prompt_item, torch.mm(prompt_item.T, feats[m]))
        x = trans(feats[m] + cfg.feat_soft_token_rate * F.normalize(feat_prompt, p=2, dim=1))
        modal_user[m] = torch.mm(ui, x)
        modal_item[m] = torch.mm(iu, modal_user[m])
    u = teacher.user_emb + cfg.soft_token_rate * F.normalize(prompt_user, p=2, dim=1)
    i = teacher.item_emb + cfg.soft_token_rate * F.normalize(prompt_item, p=2, dim=1)
    users, items = [u], [i]
    for layer in range(cfg.layers):
        if layer == cfg.layers - 1:
            u = torch.softmax(torch.mm(ui, i), dim=-1)
            i = torch.softmax(torch.mm(iu, u), dim=-1)
        else:
            u = torch.mm(ui, i)
            i = torch.mm(iu, u)
        users.append(u)
        items.append(i)
    u = torch.mean(torch.stack(users), dim=0)
    i = torch.mean(torch.stack(items), dim=0)
    for m in aug.names:
        u = u + cfg.model_cat_rate * F.normalize(modal_user[m], p=2, dim=1)
        i = i + cfg.model_cat_rate * F.normalize(modal_item[m], p=2, dim=1)
    return u, i, modal_user, modal_item, prompt_user, prompt_item, user_hard, item_hard


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_teacher_forward_matches_the_reference(layers):
    model = tiny_model("lightgcn")
    aug = tiny_augmenter("promptmm", model, teacher={"layers": layers, "soft_token_rate": 0.5,
                                                     "feat_soft_token_rate": 2.0, "model_cat_rate": 0.3})
    with torch.no_grad():  # a teacher that is not at its initial values
        for p in aug.teacher.parameters():
            p.add_(0.1 * torch.randn_like(p))
    out = aug.run_teacher(aug.teacher, training=False)
    u, i, mu, mi, pu, pi, hu, hi = reference_forward(aug, aug.teacher)
    torch.testing.assert_close(aug.hard_users, hu)
    torch.testing.assert_close(aug.hard_items, hi)
    torch.testing.assert_close(out.prompt_users, pu)
    torch.testing.assert_close(out.prompt_items, pi)
    for m in aug.names:
        torch.testing.assert_close(out.modal_users[m], mu[m], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(out.modal_items[m], mi[m], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out.users, u, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out.items, i, rtol=1e-4, atol=1e-5)


def test_dropout_applies_to_projected_features_in_training_only():
    model = tiny_model("lightgcn")
    aug = tiny_augmenter("promptmm", model, teacher={"dropout": 0.4})
    torch.manual_seed(0)
    a = aug.run_teacher(aug.teacher, training=True)
    torch.manual_seed(1)
    b = aug.run_teacher(aug.teacher, training=True)
    c = aug.run_teacher(aug.teacher, training=False)
    d = aug.run_teacher(aug.teacher, training=False)
    assert not torch.allclose(a.modal_items[aug.names[0]], b.modal_items[aug.names[0]])
    torch.testing.assert_close(c.users, d.users)
    # the prompts carry no dropout (prompt_dropout 0)
    torch.testing.assert_close(a.prompt_users, c.prompt_users)


def test_without_prompts_the_teacher_has_no_prompt_parameters():
    model = tiny_model("lightgcn")
    aug = tiny_augmenter("promptmm", model, teacher={"prompt": False, "layers": 1})
    out = aug.run_teacher(aug.teacher, training=False)
    assert out.prompt_users is None and aug.teacher.prompt is None
    names = {n for n, _ in aug.teacher.named_parameters()}
    assert names == {"user_emb", "item_emb"} | {f"project.{k}.{w}" for k in range(len(aug.names))
                                                for w in ("weight", "bias")}
    # the id branch starts from the tables alone: one layer mean of [E_u, softmax(ui E_i)]
    ui, iu = dense_graphs(aug)
    t, cfg = aug.teacher, aug.config.teacher
    u1 = torch.softmax(ui @ t.item_emb, dim=-1)
    want = (t.user_emb + torch.softmax(ui @ t.item_emb, dim=-1)) / 2 if cfg.layers == 1 else None
    if want is not None:
        want = want + cfg.model_cat_rate * sum(F.normalize(out.modal_users[m], dim=1) for m in aug.names)
        torch.testing.assert_close(out.users, want, rtol=1e-4, atol=1e-5)
    assert u1.shape == (aug.num_users, aug.dim) and iu.shape == (aug.num_items, aug.num_users)
