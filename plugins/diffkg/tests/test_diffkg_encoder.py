"""The relation-aware attention KG encoder: its math, both backends, and exact pruning."""

import pytest
import torch
import torch.nn.functional as F

from kgrec import KnowledgeGraph, select_ops
from kgrec.testing import backend_params
from kgrec_diffkg.encoder import KGEncoder
from kgrec_diffkg.kg import KGIndex, receptive_field

import numpy as np


def toy_kg(seed=0, entities=14, triples=40, relations=3, items=5):
    rng = np.random.default_rng(seed)
    heads = rng.integers(0, entities, triples)
    tails = rng.integers(0, entities, triples)
    rels = rng.integers(0, relations, triples)
    return KnowledgeGraph(heads, rels, tails, entities, relations, np.arange(items))


def encoder(index, dim=8, hops=2, res_lambda=0.5, dropout=0.0, seed=0):
    torch.manual_seed(seed)
    return KGEncoder(index.num_entities, index.num_relations, dim, hops, dropout, res_lambda)


def direct(enc, index):
    """The reference RGAT written out plainly: a loop over heads for the softmax."""
    x = enc.entity
    out = x
    heads, tails, rels = index.heads.tolist(), index.tails.tolist(), index.relations.tolist()
    for _ in range(enc.hops):
        rows = []
        for h in range(x.shape[0]):
            edges = [(t, r) for hh, t, r in zip(heads, tails, rels) if hh == h]
            agg = torch.zeros_like(x[h])
            if edges:
                logits = torch.stack([F.leaky_relu(
                    (torch.cat([x[h], x[t]]) @ enc.weight * enc.relation[r]).sum(), 0.2) for t, r in edges])
                att = torch.softmax(logits, 0)
                agg = sum(a * x[t] for a, (t, _) in zip(att, edges))
            rows.append(agg + x[h])
        x = F.normalize(torch.stack(rows), dim=-1)
        out = enc.res_lambda * out + x
    return out


def test_encoder_is_the_reference_attention():
    index = KGIndex.build(toy_kg(), torch.device("cpu"))
    enc = encoder(index).eval()
    got = enc(select_ops("torch", torch.device("cpu")).ops, index.graph())
    torch.testing.assert_close(got, direct(enc, index), rtol=1e-5, atol=1e-6)


def run(backend, device, index, enc):
    ops = select_ops(backend, device).ops
    enc = enc.to(device)
    idx = KGIndex.build(toy_kg(), device)
    out = enc(ops, idx.graph())
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(1)).to(device)
    (out * weights).sum().backward()
    grads = [p.grad.detach().cpu().clone() for p in enc.parameters()]
    return out.detach().cpu(), grads


@pytest.mark.parametrize("backend,device", backend_params())
def test_backends_agree_forward_and_backward(backend, device):
    index = KGIndex.build(toy_kg(), torch.device("cpu"))
    want, want_grads = run("torch", torch.device("cpu"), index, encoder(index).eval())
    got, grads = run(backend, device, index, encoder(index).eval())
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    for g, w in zip(grads, want_grads):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("backend,device", backend_params())
def test_backends_agree_with_message_dropout(backend, device):
    """Dropout draws from torch's RNG the same way on both backends."""
    index = KGIndex.build(toy_kg(), torch.device("cpu"))
    torch.manual_seed(5)
    want, _ = run("torch", torch.device("cpu"), index, encoder(index, hops=1, res_lambda=0.0, dropout=0.3).train())
    torch.manual_seed(5)
    got, _ = run(backend, device, index, encoder(index, hops=1, res_lambda=0.0, dropout=0.3).train())
    if device.type == "cpu":
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert (got == 0).any()  # dropout did act


@pytest.mark.parametrize("hops", [1, 2, 3])
def test_receptive_field_keeps_item_rows_exact(hops):
    index = KGIndex.build(toy_kg(seed=2, entities=30, triples=50), torch.device("cpu"))
    items = torch.arange(5)
    ops = select_ops("torch", torch.device("cpu")).ops
    enc = encoder(index, hops=hops).eval()
    full = index.graph()
    pruned = receptive_field(full, items, hops)
    assert pruned.num_edges < full.num_edges
    torch.testing.assert_close(enc(ops, pruned)[items], enc(ops, full)[items])
    if hops == 1:
        assert set(pruned.dst.tolist()) <= set(items.tolist())
