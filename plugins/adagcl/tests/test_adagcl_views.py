"""The two view generators and the hook wiring of adagcl, piece by piece."""

from __future__ import annotations

import math

import pytest
import torch

from kgrec import Batch, ConfigError, Graph, PluginError, join_nodes, light_propagate
from kgrec.testing import backend_params, tiny_context, tiny_model, tiny_setup
from kgrec_adagcl import AdaGCL, AdaGCLConfig
from kgrec_adagcl.denoising import EdgeGates, gated_graph
from kgrec_adagcl.generative import GenerativeView, keep_edges


def _batch(setup, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    pick = torch.randint(0, setup.train_users.shape[0], (size,), generator=g)
    neg = torch.randint(0, setup.data.num_items, (size,), generator=g)
    return Batch(setup.train_users[pick], setup.train_items[pick], neg)


def _square(num_nodes=6, edges=14, seed=0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(0, num_nodes, (edges,), generator=g)
    dst = torch.randint(0, num_nodes, (edges,), generator=g)
    return Graph(src, dst, num_nodes, num_nodes, torch.rand(edges, generator=g) + 0.1)


def _dense(graph, weight):
    out = torch.zeros(graph.num_dst, graph.num_src, dtype=weight.dtype)
    return out.index_put_((graph.dst, graph.src), weight, accumulate=True)


def test_keep_edges_keeps_the_mask_and_rescales_by_the_kept_fraction():
    graph = _square()
    keep = torch.arange(graph.num_edges) % 4 != 0
    kept = keep_edges(graph, keep)
    fraction = keep.sum().item() / graph.num_edges
    assert torch.equal(kept.src, graph.src[keep]) and torch.equal(kept.dst, graph.dst[keep])
    assert torch.allclose(kept.weight, graph.weight[keep] / fraction)
    assert keep_edges(graph, torch.zeros(graph.num_edges, dtype=torch.bool)).num_edges == 0


@pytest.mark.parametrize("bias, expected", [(30.0, "all"), (-30.0, "none")])
def test_generative_view_keeps_edges_decoded_at_or_above_the_threshold(bias, expected):
    torch.manual_seed(0)
    gen = GenerativeView(8)
    with torch.no_grad():
        gen.decoder[-1].bias.fill_(bias)
        gen.decoder[-1].weight.zero_()
    graph = _square()
    view = gen.view(graph, torch.randn(6, 8), threshold=0.5)
    assert view.num_edges == (graph.num_edges if expected == "all" else 0)
    if expected == "all":
        assert torch.allclose(view.weight, graph.weight)


def test_gate_logits_equal_the_per_edge_linear_on_concatenated_end_features():
    torch.manual_seed(0)
    gates = EdgeGates(8, layers=2, gamma=-0.45, zeta=1.05)
    graph = _square()
    h = torch.randn(6, 8)
    for layer in range(2):
        per_edge = torch.cat([gates.dst_mlps[layer](h[graph.dst]), gates.src_mlps[layer](h[graph.src])], 1)
        expected = gates.scorers[layer](per_edge).squeeze(-1)
        assert torch.allclose(gates.log_alpha(layer, graph, h), expected, atol=1e-6)


def test_hard_concrete_gates_at_inference_and_in_training():
    gates = EdgeGates(4, layers=1, gamma=-0.45, zeta=1.05)
    log_alpha = torch.tensor([-20.0, -1.0, 0.0, 1.0, 20.0])
    expected = (torch.sigmoid(log_alpha) * 1.5 - 0.45).clamp(0, 1)
    assert torch.allclose(gates.gates(log_alpha, 2.0, training=False), expected)
    assert gates.gates(log_alpha, 2.0, training=False)[[0, -1]].tolist() == [0.0, 1.0]
    torch.manual_seed(0)
    sampled = gates.gates(log_alpha.repeat(200), 0.5, training=True)
    assert sampled.min() >= 0 and sampled.max() <= 1
    assert not torch.equal(sampled[:5], sampled[5:10])  # noisy in training
    torch.manual_seed(0)
    assert torch.equal(sampled, gates.gates(log_alpha.repeat(200), 0.5, training=True))


def test_l0_penalty_is_the_reference_expected_open_fraction():
    gates = EdgeGates(4, layers=1, gamma=-0.45, zeta=1.05)
    log_alpha = torch.tensor([-2.0, 0.5])
    expected = torch.sigmoid(log_alpha - 2.0 * math.log(0.45 / 1.05)).mean()
    assert torch.allclose(gates.l0_penalty(log_alpha, 2.0), expected)
    assert gates.l0_penalty(log_alpha - 5, 2.0) < gates.l0_penalty(log_alpha, 2.0)


def test_gated_graph_is_symmetric_normalisation_by_the_gated_row_sums():
    graph = _square()
    gate = torch.rand(graph.num_edges, generator=torch.Generator().manual_seed(1))
    dense = _dense(graph, gate)
    scale = (dense.sum(1) + 1e-6).pow(-0.5).clamp(max=10)
    expected = scale[:, None] * dense * scale[None, :]
    assert torch.allclose(_dense(graph, gated_graph(graph, gate).weight), expected, atol=1e-6)


def test_denoising_view_propagates_each_layer_over_its_own_gated_graph():
    setup = tiny_setup(dim=8)
    model = tiny_model("lightgcn", setup, layers=2)
    aug = AdaGCL(AdaGCLConfig(layers=2), setup)
    base = model.view()
    emb = model.encode(base.replace(layer_graph=aug.denoising.layer_graph(base.graph)))
    h = join_nodes(base.users, base.items).detach()
    total = h
    for layer in range(2):
        gate = aug.denoising.gates(aug.denoising.log_alpha(layer, base.graph, h), 1.0, False)
        h = setup.ops.spmm(gated_graph(base.graph, gate), h)
        total = total + h
    assert torch.allclose(join_nodes(emb.users, emb.items), total, atol=1e-5)
    plain = light_propagate(setup.ops, base.graph, join_nodes(base.users, base.items), 2)
    assert not torch.allclose(join_nodes(emb.users, emb.items), plain, atol=1e-3)


def _grads(module):
    return [p.grad for p in module.parameters()]


def test_each_loss_term_trains_only_its_own_side():
    """cl / ib train the backbone only; each generator's loss trains that generator only."""
    setup = tiny_setup(dim=8)
    model = tiny_model("lightgcn", setup)
    aug = AdaGCL(AdaGCLConfig(), setup)
    aug.bind(model)
    ctx, batch = tiny_context(model), _batch(setup)
    aug.loss(model.encode(model.view()), batch, ctx)  # fills the bottleneck's previous views
    owners = {"cl": model, "ib": model, "generative": aug.generative, "denoising": aug.denoising}
    for name, owner in owners.items():
        model.zero_grad(set_to_none=True)
        aug.zero_grad(set_to_none=True)
        terms = aug.loss(model.encode(model.view()), batch, ctx)
        terms[name].backward()
        for module in (model, aug.generative, aug.denoising):
            touched = any(g is not None and g.abs().sum() > 0 for g in _grads(module))
            assert touched == (module is owner), (name, type(module).__name__)


def test_bottleneck_contrasts_with_the_previous_step_and_is_saved_with_the_state():
    setup = tiny_setup(dim=8)
    model = tiny_model("lightgcn", setup)
    aug = AdaGCL(AdaGCLConfig(), setup)
    ctx, batch = tiny_context(model), _batch(setup)
    assert not bool(aug.has_previous)
    aug.loss(model.encode(model.view()), batch, ctx)
    assert bool(aug.has_previous)
    first = aug.previous_generative.clone()
    with torch.no_grad():
        model.user_emb.weight.mul_(1.5)
    aug.loss(model.encode(model.view()), batch, ctx)
    assert not torch.allclose(first, aug.previous_generative)
    state = aug.state_dict()
    assert {"previous_generative", "previous_denoising", "has_previous"} <= set(state)


def test_bind_refuses_backbones_without_layer_graphs_and_mismatched_layers():
    setup = tiny_setup(dim=8)
    with pytest.raises(PluginError, match="layer_graph"):
        AdaGCL(AdaGCLConfig(), setup).bind(tiny_model("mf", setup))
    with pytest.raises(ConfigError, match="layers"):
        AdaGCL(AdaGCLConfig(layers=2), setup).bind(tiny_model("lightgcn", setup, layers=3))


def test_gate_temperature_decays_per_epoch_to_its_floor():
    cfg = AdaGCLConfig()
    assert cfg.gate_temperature_at(1) == 2.0
    assert cfg.gate_temperature_at(2) == pytest.approx(1.96)
    assert cfg.gate_temperature_at(1000) == 0.05


def test_bad_options_are_rejected():
    for bad in ({"gamma": 0.1}, {"temperature": 0.0}, {"keep_threshold": 1.5}, {"layers": 0}):
        with pytest.raises(ValueError):
            AdaGCLConfig(**bad)


@pytest.mark.parametrize("backend, device", backend_params())
def test_losses_agree_across_backends(backend, device):
    values = {}
    for name in ("torch", backend):
        setup = tiny_setup(dim=8, backend=name)
        model = tiny_model("lightgcn", setup)
        torch.manual_seed(3)
        aug = AdaGCL(AdaGCLConfig(), setup)
        ctx = tiny_context(model)
        torch.manual_seed(4)
        terms = aug.loss(model.encode(model.view()), _batch(setup), ctx)
        sum(terms.values()).backward()
        values[name] = ({k: float(v) for k, v in terms.items()},
                        aug.denoising.scorers[0].weight.grad.clone())
    assert values["torch"][0] == pytest.approx(values[backend][0], rel=1e-4, abs=1e-6)
    assert torch.allclose(values["torch"][1], values[backend][1], rtol=1e-3, atol=1e-6)
