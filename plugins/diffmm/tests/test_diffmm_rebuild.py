"""The per-epoch modality-graph rebuild."""

import numpy as np
import pytest
import torch

from kgrec_diffmm.rebuild import drop_edges, modality_graph, rebuild_graph


def _dense_adjacency(graph):
    a = np.zeros((graph.num_dst, graph.num_src))
    np.add.at(a, (graph.dst.numpy(), graph.src.numpy()), graph.weight.numpy())
    return a


def test_top_k_then_graph_is_the_reference_normalised_adjacency():
    scores = torch.tensor([[0.1, 0.9, 0.3, 0.0], [0.8, 0.1, 0.7, 0.2], [0.0, 0.1, 0.2, 0.3]])
    top = torch.topk(scores, 2, dim=1).indices
    assert [sorted(r) for r in top.tolist()] == [[1, 2], [0, 2], [2, 3]]
    graph = rebuild_graph(top, torch.arange(3), num_users=3, num_items=4, keep_rate=1.0,
                          generator=torch.Generator().manual_seed(0))
    # buildUIMatrix: [[0, R], [R^T, 0]] + I, then D^-1/2 (.) D^-1/2
    r = np.zeros((3, 4))
    for u, its in enumerate(top.tolist()):
        r[u, its] = 1
    a = np.block([[np.zeros((3, 3)), r], [r.T, np.zeros((4, 4))]]) + np.eye(7)
    d = 1 / np.sqrt(a.sum(1))
    np.testing.assert_allclose(_dense_adjacency(graph), d[:, None] * a * d[None, :], rtol=1e-6)


def test_edge_dropout_keeps_the_rate_and_rescales_kept_weights():
    users = torch.arange(500).repeat_interleave(2)
    items = torch.randint(0, 300, (1000,), generator=torch.Generator().manual_seed(1))
    pairs = torch.unique(users * 300 + items)
    graph = modality_graph(pairs // 300, pairs % 300, 500, 300)
    assert drop_edges(graph, 1.0, torch.Generator()) is graph
    dropped = drop_edges(graph, 0.5, torch.Generator().manual_seed(3))
    assert abs(dropped.num_edges / graph.num_edges - 0.5) < 0.05
    weights = {(s, d): w for s, d, w in zip(graph.src.tolist(), graph.dst.tolist(), graph.weight.tolist())}
    for s, d, w in zip(dropped.src.tolist()[:50], dropped.dst.tolist()[:50], dropped.weight.tolist()[:50]):
        assert w == pytest.approx(weights[(s, d)] / 0.5)
    again = drop_edges(graph, 0.5, torch.Generator().manual_seed(3))
    assert torch.equal(again.src, dropped.src) and torch.equal(again.dst, dropped.dst)


def test_rebuild_keeps_rebuild_k_items_per_user_and_is_deterministic(make):
    built = make(rebuild_k=3, keep_rate=1.0)
    aug = built.aug
    aug.train()  # sampling must still run without the denoiser's input dropout
    first = aug.rebuild(torch.Generator().manual_seed(0))
    second = aug.rebuild(torch.Generator().manual_seed(1))
    assert aug.denoising.denoisers.training  # mode restored
    U, I = built.data.num_users, built.data.num_items
    for name, graph in first.items():
        assert torch.equal(graph.src, second[name].src) and torch.equal(graph.weight, second[name].weight)
        user_to_item = (graph.src < U) & (graph.dst >= U)
        assert torch.equal(torch.bincount(graph.src[user_to_item], minlength=U), torch.full((U,), 3))
        assert graph.num_edges == 2 * 3 * U + U + I  # both directions plus every self-loop


def test_denoiser_training_moves_only_the_denoisers(make):
    built = make()
    aug, model = built.aug, built.model
    before = {k: v.clone() for k, v in aug.state_dict().items() if not k.startswith("_extra")}
    model_before = {k: v.clone() for k, v in model.state_dict().items()}
    stats = aug.fit_epoch(built.ctx)
    assert {"diffusion_image", "align_image", "diffusion_audio", "align_audio"} <= set(stats)
    after = aug.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("denoising.") for k in changed)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in model_before.items())
    assert all(g is not aug.main_graph for g in aug.graphs.values())  # rebuilt


def test_alignment_switch(make):
    built = make(alignment=False)
    stats = built.aug.fit_epoch(built.ctx)
    assert "diffusion_image" in stats and not any(k.startswith("align_") for k in stats)
