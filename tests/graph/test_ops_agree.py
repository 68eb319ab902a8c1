"""Both kernel backends compute the same thing, forward and backward, on every device here."""

import numpy as np
import pytest
import torch

from kgrec.graph.graph import Graph, bipartite_graph, symmetric_normalized
from kgrec.graph.ops import select_ops
from kgrec.graph.torch_ops import TorchOps

from kgrec.testing import backend_params


def _graph(device, weighted=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(0, 30, (200,), generator=g)
    dst = torch.randint(0, 20, (200,), generator=g)
    weight = torch.rand(200, generator=g) if weighted else None
    return Graph(src, dst, 30, 20, weight).to(device)


def _dense(graph):
    a = np.zeros((graph.num_dst, graph.num_src))
    w = graph.weight.cpu().numpy() if graph.weight is not None else np.ones(graph.num_edges)
    np.add.at(a, (graph.dst.cpu().numpy(), graph.src.cpu().numpy()), w)
    return a


@pytest.mark.parametrize("backend,device", backend_params())
@pytest.mark.parametrize("weighted", [True, False])
def test_spmm_matches_dense_reference(backend, device, weighted):
    ops = select_ops(backend, device).ops
    graph = _graph(device, weighted)
    x = torch.randn(30, 4, device=device, requires_grad=True)
    out = ops.spmm(graph, x)
    np.testing.assert_allclose(out.detach().cpu().numpy(), _dense(graph) @ x.detach().cpu().numpy(),
                               rtol=1e-5, atol=1e-5)
    (grad,) = torch.autograd.grad(out.pow(2).sum(), x)
    expected = 2 * _dense(graph).T @ (_dense(graph) @ x.detach().cpu().numpy())
    np.testing.assert_allclose(grad.cpu().numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("backend,device", backend_params())
def test_learnable_edge_weights_and_softmax_agree_with_torch(backend, device):
    ops = select_ops(backend, device).ops
    ref = TorchOps()
    graph = _graph(device, weighted=False, seed=1)
    x = torch.randn(30, 5, device=device)
    logits = torch.randn(graph.num_edges, device=device, requires_grad=True)
    outs = []
    for impl in (ops, ref):
        attn = impl.edge_softmax(graph, logits)
        out = impl.spmm(graph, x, weight=attn)
        (grad,) = torch.autograd.grad(out.sum() + attn.pow(2).sum(), logits)
        outs.append((attn.detach(), out.detach(), grad))
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    # softmax sums to one over each destination's incoming edges
    sums = torch.zeros(graph.num_dst, device=device).index_add_(0, graph.dst, outs[0][0])
    has_in = graph.in_degrees() > 0
    torch.testing.assert_close(sums[has_in], torch.ones_like(sums[has_in]))


@pytest.mark.parametrize("backend,device", backend_params())
def test_sddmm_is_edge_dot(backend, device):
    ops = select_ops(backend, device).ops
    graph = _graph(device)
    a, b = torch.randn(30, 6, device=device), torch.randn(20, 6, device=device)
    expected = (a[graph.src] * b[graph.dst]).sum(-1)
    torch.testing.assert_close(ops.sddmm(graph, a, b), expected, rtol=1e-5, atol=1e-5)


def test_bipartite_normalisation_is_symmetric():
    users = torch.tensor([0, 0, 1, 2])
    items = torch.tensor([0, 1, 1, 1])
    g = bipartite_graph(users, items, 3, 2, self_loops=True)
    a = _dense(g)
    np.testing.assert_allclose(a, a.T, atol=1e-7)
    binary = (a > 0).astype(float)
    deg = binary.sum(1)
    np.testing.assert_allclose(a, binary / np.sqrt(np.outer(deg, deg)), atol=1e-6)


def test_a_rebuilt_graph_is_never_served_stale():
    ops = TorchOps()
    x = torch.ones(3, 1)
    g1 = symmetric_normalized(Graph(torch.tensor([0, 1]), torch.tensor([1, 2]), 3, 3))
    first = ops.spmm(g1, x)
    g2 = symmetric_normalized(Graph(torch.tensor([0]), torch.tensor([2]), 3, 3))
    second = ops.spmm(g2, x)
    assert first[1].item() == pytest.approx(1.0) and second[1].item() == 0.0


def test_torch_spmm_matches_a_dense_product_forward_and_backward_for_any_shape():
    import torch

    from kgrec.graph.graph import Graph
    from kgrec.graph.torch_ops import TorchOps

    g = torch.Generator().manual_seed(0)
    src, dst = torch.randint(0, 7, (30,), generator=g), torch.randint(0, 5, (30,), generator=g)
    graph = Graph(src, dst, 7, 5, torch.rand(30, generator=g))
    dense = torch.zeros(5, 7).index_put_((dst, src), graph.weight, accumulate=True)
    ops = TorchOps()
    for shape in [(7,), (7, 3), (7, 2, 4)]:
        x = torch.randn(*shape, generator=g, requires_grad=True)
        out = ops.spmm(graph, x)
        expected = (dense @ x.reshape(7, -1)).reshape((5,) + shape[1:])
        torch.testing.assert_close(out, expected)
        grad = torch.randn(out.shape, generator=g)
        (got,) = torch.autograd.grad(out, x, grad)
        torch.testing.assert_close(got, (dense.T @ grad.reshape(5, -1)).reshape(shape))
