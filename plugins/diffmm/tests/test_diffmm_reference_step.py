"""The ``tiktok`` preset, both sides: one training step's loss, summed as a run sums it, equals
the reference's step (``Main.py`` ``trainEpoch`` with ``Model.forward_MM`` / ``forward_cl_MM``,
``Model.reg_loss`` and ``contrastLoss``), written out here with dense matrices from the
paper's formulas: one GCN layer over ``D^-1/2 (A + I) D^-1/2``, layers summed, BPR summed over
the batch and divided by the batch size, ``reg * (||E_u||^2 + ||E_i||^2)`` on the id tables,
and InfoNCE of the main embedding against each modality view (``cl_method 1``)."""

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

import kgrec
from kgrec import Batch
from kgrec.testing import forward, tiny_augmenter, tiny_context, tiny_data, tiny_model, tiny_setup


def _dense(graph, n):
    """The graph as the matrix ``spmm`` multiplies by: ``out[dst] += w * x[src]``."""
    return torch.zeros(n, n).index_put_((graph.dst, graph.src), graph.weight, accumulate=True)


def _main_adjacency(data):
    u, n = data.num_users, data.num_users + data.num_items
    a = torch.zeros(n, n)
    users, items = torch.as_tensor(data.train.users), torch.as_tensor(data.train.items)
    a[users, u + items] = 1.0
    a[u + items, users] = 1.0
    a = a + torch.eye(n)
    inv = a.sum(1).rsqrt()
    return inv[:, None] * a * inv[None, :]


def _info_nce(a, b, nodes, temp):
    a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
    pa, pb = a[nodes], b[nodes]
    return -torch.log(torch.exp((pa * pb).sum(-1) / temp) / torch.exp(pa @ b.T / temp).sum(-1)).mean()


def test_one_step_with_the_tiktok_preset_is_the_reference_step():
    config = kgrec.resolve_config({"augmenter": "diffmm", "recommender": "lightgcn",
                                   "preset": "tiktok"})
    rec, aug_cfg = config.recommender_config, config.augmenter_config
    assert (rec.layers, rec.reg_on, rec.reg, rec.dim) == (1, "tables", 1e-4, 64)

    rng = np.random.default_rng(0)
    data = tiny_data()
    data = data.replace(modalities={name: rng.normal(size=(data.num_items, 5 + k)).astype(np.float32)
                                    for k, name in enumerate(["image", "text", "audio"])})
    setup = tiny_setup(data, dim=rec.dim)
    model = tiny_model("lightgcn", setup, **dataclasses.asdict(rec))
    aug_options = dataclasses.asdict(aug_cfg)
    aug_options["diffusion"]["batch_size"] = 64
    aug = tiny_augmenter("diffmm", model, **aug_options)
    aug.fit_epoch(tiny_context(model))                     # rebuilt, dropped-out modality graphs

    g = torch.Generator().manual_seed(3)
    idx = torch.randint(0, len(data.train), (50,), generator=g)
    batch = Batch(torch.as_tensor(data.train.users)[idx], torch.as_tensor(data.train.items)[idx],
                  torch.randint(0, data.num_items, (50,), generator=g))
    ctx = tiny_context(model, batch=batch)
    emb = forward(model, aug, ctx)
    terms = {**model.loss(emb, batch, ctx.view), **aug.loss(emb, batch, ctx)}
    assert set(terms) == {"bpr", "reg", "contrast"}
    got = sum(terms.values())

    # --- the reference's step, dense ---------------------------------------------------------
    U, n = data.num_users, data.num_users + data.num_items
    ue, ie = model.user_emb.weight, model.item_emb.weight
    adj = _main_adjacency(data)
    weight = torch.softmax(aug.modalities.modal_weight, 0)
    fused, views = 0, []
    for w, name in zip(weight, aug.names):
        proj = aug.modalities.projections[name]
        feats = F.normalize(proj.features @ proj.linear.weight.T + proj.linear.bias)  # trans 1
        modal_adj = _dense(aug.graphs[name], n)
        h = adj @ torch.cat([ue, feats])
        part = h + adj @ torch.cat([h[:U], ie]) + aug_cfg.ris_adj_lambda * modal_adj @ torch.cat([ue, ie])
        fused = fused + w * part
        v = modal_adj @ torch.cat([ue, feats])
        views.append(v + adj @ v)                         # gnn_layer 1, layers summed
    out = fused + adj @ fused + aug_cfg.ris_lambda * F.normalize(fused)
    users, items = out[:U], out[U:]
    u, p, q = users[batch.users], items[batch.pos_items], items[batch.neg_items]
    bpr = -F.logsigmoid((u * p).sum(-1) - (u * q).sum(-1)).sum() / 50
    reg = rec.reg * (ue.norm(2).square() + ie.norm(2).square())
    cl = sum(_info_nce(users, v[:U], batch.users, aug_cfg.temp)
             + _info_nce(items, v[U:], batch.pos_items, aug_cfg.temp) for v in views) * aug_cfg.ssl_reg
    want = bpr + reg + cl

    torch.testing.assert_close(terms["reg"], reg)
    torch.testing.assert_close(terms["contrast"], cl, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    params = [ue, ie, aug.modalities.modal_weight]
    for a, b in zip(torch.autograd.grad(got, params, retain_graph=True), torch.autograd.grad(want, params)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
