"""The weighted GCN recommender (RecDiff's user-item encoder)."""

import numpy as np
import pytest
import torch

from kgrec.config import build
from kgrec.graph.graph import Graph
from kgrec.graph.ops import select_ops
from kgrec.interfaces import Batch, Setup
from kgrec.recommenders.gcn import GCN, GCNConfig
from kgrec.testing import backend_params, tiny_data


def _model(backend="torch", device=torch.device("cpu"), **options):
    data = tiny_data()
    torch.manual_seed(0)
    setup = Setup(data=data, ops=select_ops(backend, device).ops, device=device, seed=0,
                  train_users=torch.as_tensor(data.train.users, device=device),
                  train_items=torch.as_tensor(data.train.items, device=device))
    return GCN(build(GCNConfig, options, "gcn"), setup).to(device), data


def _leaky(x, slope=0.5):
    return np.where(x > 0, x, slope * x)


def _dense_reference(model, data):
    """The model's math in dense numpy: no self-loops, D^-1/2 A D^-1/2, W_u / W_i per layer."""
    u, i = data.num_users, data.num_items
    a = np.zeros((u + i, u + i))
    a[data.train.users, u + data.train.items] = 1
    a[u + data.train.items, data.train.users] = 1
    deg = a.sum(1)
    inv = np.where(deg > 0, 1 / np.sqrt(np.maximum(deg, 1)), 0)
    a_hat = inv[:, None] * a * inv[None, :]
    h = np.concatenate([model.user_emb.weight.detach().numpy(), model.item_emb.weight.detach().numpy()])
    total = h.copy()
    for layer in range(model.config.layers):
        wu = model.weights[2 * layer].detach().numpy()
        wi = model.weights[2 * layer + 1].detach().numpy()
        h = _leaky(a_hat @ np.concatenate([h[:u] @ wu, h[u:] @ wi]))
        norm = np.linalg.norm(h, axis=1, keepdims=True)
        total = total + h / np.maximum(norm, 1e-12)
    return total[:u], total[u:]


def test_encode_matches_the_dense_formula():
    model, data = _model()
    emb = model.encode(model.view())
    users, items = _dense_reference(model, data)
    np.testing.assert_allclose(emb.users.detach().numpy(), users, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(emb.items.detach().numpy(), items, rtol=1e-4, atol=1e-5)
    graph = model.view().graph
    assert not bool((graph.src == graph.dst).any()), "the paper's GCN has no self-loops"


@pytest.mark.parametrize("backend,device", backend_params())
def test_backends_agree_with_torch_on_cpu_forward_and_backward(backend, device):
    outs = []
    for name, where in (("torch", torch.device("cpu")), (backend, device)):
        model, _ = _model(name, where)
        emb = model.encode(model.view())
        loss = emb.users.pow(2).sum() + (emb.users[:5] @ emb.items.T).sum()
        loss.backward()
        outs.append([t.detach().cpu() for t in (emb.users, emb.items, model.weights[0].grad,
                                                model.user_emb.weight.grad)])
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_weights_matter_and_can_be_shared_or_switched_off():
    model, _ = _model()
    before = model.encode(model.view()).users.detach().clone()
    with torch.no_grad():
        model.weights[0].mul_(3.0)  # LeakyReLU is homogeneous and layers are L2-normalised:
    torch.testing.assert_close(before, model.encode(model.view()).users.detach())  # no change
    with torch.no_grad():
        model.weights[0].add_(torch.randn_like(model.weights[0]))
    assert not torch.allclose(before, model.encode(model.view()).users)
    shared, _ = _model(separate_weights=False)
    assert len(shared.weights) == shared.config.layers
    plain, _ = _model(weight=False)
    assert len(plain.weights) == 0 and plain.encode(plain.view()).users.shape == before.shape


def test_reg_is_on_scored_or_input_embeddings():
    model, _ = _model(reg=0.5)
    view = model.view()
    emb = model.encode(view)
    batch = Batch(torch.tensor([0, 1, 1]), torch.tensor([2, 3, 4]), torch.tensor([5, 6, 7]))
    out = model.loss(emb, batch, view)["reg"]
    sq = (emb.users[batch.users].pow(2).sum() + emb.items[batch.pos_items].pow(2).sum()
          + emb.items[batch.neg_items].pow(2).sum())
    torch.testing.assert_close(out, 0.5 * sq / 3)
    model.config.reg_on = "input"
    sq0 = (view.users[batch.users].pow(2).sum() + view.items[batch.pos_items].pow(2).sum()
           + view.items[batch.neg_items].pow(2).sum())
    torch.testing.assert_close(model.loss(emb, batch, view)["reg"], 0.5 * sq0 / 3)


def test_layer_graph_replaces_the_graph_layer_by_layer():
    model, _ = _model()
    base = model.view()
    plain = model.encode(base)
    seen = []

    def same_graph(layer, h):
        seen.append((layer, h.shape))
        return base.graph

    same = model.encode(base.replace(layer_graph=same_graph))
    assert [layer for layer, _ in seen] == list(range(model.config.layers))
    assert torch.equal(same.users, plain.users) and torch.equal(same.items, plain.items)
    g = base.graph
    empty = Graph(g.src[:0], g.dst[:0], g.num_src, g.num_dst, weight=g.weight[:0])
    cut = model.encode(base.replace(layer_graph=lambda layer, h: empty))
    # no edges: every layer's output is zero, so only the input embeddings remain
    assert torch.allclose(cut.users, base.users) and torch.allclose(cut.items, base.items)
