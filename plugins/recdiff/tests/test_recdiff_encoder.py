"""The social GCN and its trust graph."""

import numpy as np
import pytest
import torch

from kgrec import SocialGraph, select_ops
from kgrec.testing import backend_params
from kgrec_recdiff.encoder import SocialGCN, social_graph

CPU = torch.device("cpu")


def _edges(graph):
    return sorted(zip(graph.src.tolist(), graph.dst.tolist()))


def test_direction_dedup_and_self_loops():
    # 0 trusts 1 (twice), 1 trusts 2, 3 trusts itself, 2 <-> 0 both ways
    social = SocialGraph(np.array([0, 0, 1, 3, 2, 0]), np.array([1, 1, 2, 3, 0, 2]))
    given = social_graph(social, 5, "as_given", CPU)
    assert _edges(given) == [(0, 1), (0, 2), (1, 2), (2, 0)]
    assert _edges(social_graph(social, 5, "reverse", CPU)) == [(0, 2), (1, 0), (2, 0), (2, 1)]
    both = social_graph(social, 5, "both", CPU)
    assert _edges(both) == [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
    # symmetric normalisation: w = 1 / sqrt(out_deg(src) * in_deg(dst))
    deg = both.out_degrees().float()
    torch.testing.assert_close(both.weight, (deg[both.src] * deg[both.dst]).rsqrt())
    with pytest.raises(ValueError):
        social_graph(social, 5, "sideways", CPU)


def _dense(graph):
    a = np.zeros((graph.num_dst, graph.num_src))
    np.add.at(a, (graph.dst.numpy(), graph.src.numpy()), graph.weight.numpy())
    return a


def _setup(backend, device=CPU, seed=0, users=40):
    rng = np.random.default_rng(seed)
    social = SocialGraph(rng.integers(0, users - 5, 120), rng.integers(0, users - 5, 120))
    graph = social_graph(social, users, "as_given", device)  # users >= users-5 have no ties
    torch.manual_seed(seed)
    encoder = SocialGCN(16, 2).to(device)
    x = torch.randn(users, 16).to(device).requires_grad_()
    return select_ops(backend, device).ops, graph, encoder, x


def test_matches_the_dense_formula_and_untied_users_keep_their_input():
    ops, graph, encoder, x = _setup("torch")
    out = encoder(ops, graph, x).detach().numpy()
    a = _dense(graph)
    h = x.detach().numpy()
    total = h.copy()
    for w in encoder.weights:
        h = a @ (h @ w.detach().numpy())
        h = np.where(h > 0, h, 0.5 * h)
        total += h / np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
    np.testing.assert_allclose(out, total, rtol=1e-4, atol=1e-5)
    lonely = (graph.in_degrees() == 0).nonzero().squeeze(1)
    assert len(lonely) >= 5
    np.testing.assert_allclose(out[lonely], x.detach().numpy()[lonely])


@pytest.mark.parametrize("backend,device", backend_params())
def test_backends_agree_with_torch_on_cpu_forward_and_backward(backend, device):
    results = []
    for name, where in (("torch", CPU), (backend, device)):
        ops, graph, encoder, x = _setup(name, where)
        out = encoder(ops, graph, x)
        (out.pow(2).sum() + out[:3].sum()).backward()
        results.append([t.cpu() for t in (out.detach(), x.grad, encoder.weights[0].grad,
                                          encoder.weights[1].grad)])
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
