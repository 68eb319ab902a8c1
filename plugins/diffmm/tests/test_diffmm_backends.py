"""The DGL and torch kernel backends give the same DiffMM forward, loss and gradients."""

import pytest
import torch

from kgrec import Batch
from kgrec.testing import backend_params

DGL_CPU = next(p for p in backend_params() if p.id == "dgl-cpu")


@pytest.mark.parametrize("backend,device", [DGL_CPU])
@pytest.mark.parametrize("recommender", ["lightgcn", "mf"])
@pytest.mark.parametrize("cl_view", ["reference", "modal"])
def test_backends_agree(make, backend, device, recommender, cl_view):
    runs = {}
    for backend in ("torch", "dgl"):
        built = make(backend=backend, recommender=recommender, cl_view=cl_view, cl_method=0,
                     keep_rate=0.5, seed=3)
        built.aug.fit_epoch(built.ctx)  # same seed: same denoisers, same rebuilt graphs
        data = built.data
        idx = torch.arange(0, len(data.train), 7)
        batch = Batch(torch.as_tensor(data.train.users)[idx], torch.as_tensor(data.train.items)[idx],
                      torch.remainder(idx, data.num_items))
        emb, view = built.forward()
        terms = {**built.model.loss(emb, batch, view), **built.ctx.losses,
                 **built.aug.loss(emb, batch, built.ctx)}
        sum(terms.values()).backward()
        grads = {n: p.grad.clone() for n, p in [*built.model.named_parameters(),
                                                *built.aug.modalities.named_parameters()]}
        runs[backend] = (emb, terms, grads, built.aug.graphs)
    (e1, t1, g1, graphs1), (e2, t2, g2, graphs2) = runs["torch"], runs["dgl"]
    for name in graphs1:
        assert torch.equal(graphs1[name].src, graphs2[name].src)
    torch.testing.assert_close(e1.users, e2.users, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(e1.items, e2.items, rtol=1e-4, atol=1e-5)
    assert t1.keys() == t2.keys() and "contrast" in t1
    for key in t1:
        torch.testing.assert_close(t1[key], t2[key], rtol=1e-4, atol=1e-6)
    for key in g1:
        torch.testing.assert_close(g1[key], g2[key], rtol=1e-3, atol=1e-5)
