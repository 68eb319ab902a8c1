"""The denoising view: learned per-layer edge gates with a hard-concrete relaxation.

Jiang et al. (2023), the graph denoising model. Reference code: SSLRec
``models/general_cf/adagcl.py`` (``DenoiseNet``). Hard concrete: Louizos et al., "Learning
Sparse Neural Networks through L0 Regularization" (ICLR 2018).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

from kgrec import Graph, GraphOps


class EdgeGates(nn.Module):
    """One gate network per propagation layer.

    For an edge ``u -> v`` at layer ``l``:

    .. math:: \\log\\alpha_{uv} = w^\\top [\\mathrm{MLP}^l_{dst}(h_v) \\,\\|\\, \\mathrm{MLP}^l_{src}(h_u)] + b

    The MLPs act on nodes, so ``w^T [a || b]`` splits into one scalar per node and end:
    ``log_alpha = s_dst[dst] + s_src[src] + b``. That is the reference's per-edge
    ``Linear(2d -> 1)``, computed with no ``(E, d)`` tensor at all.
    """

    def __init__(self, dim: int, layers: int, gamma: float, zeta: float):
        super().__init__()
        self.dim, self.gamma, self.zeta = dim, gamma, zeta
        self.dst_mlps = nn.ModuleList(nn.Sequential(nn.Linear(dim, dim), nn.ReLU()) for _ in range(layers))
        self.src_mlps = nn.ModuleList(nn.Sequential(nn.Linear(dim, dim), nn.ReLU()) for _ in range(layers))
        self.scorers = nn.ModuleList(nn.Linear(2 * dim, 1) for _ in range(layers))

    @property
    def layers(self) -> int:
        return len(self.scorers)

    def log_alpha(self, layer: int, graph: Graph, h: Tensor) -> Tensor:
        """Per-edge gate logits of ``layer`` from its input node matrix ``h`` ``(N, d)``: ``(E,)``."""
        scorer = self.scorers[layer]
        w = scorer.weight.view(-1)
        s_dst = self.dst_mlps[layer](h) @ w[: self.dim]
        s_src = self.src_mlps[layer](h) @ w[self.dim:]
        return s_dst[graph.dst] + s_src[graph.src] + scorer.bias

    def gates(self, log_alpha: Tensor, temperature: float, training: bool) -> Tensor:
        """Hard-concrete gates in [0, 1]: a noisy relaxed sample in training, the deterministic
        ``sigmoid(log_alpha)`` (stretched and clipped) otherwise. Noise from torch's global RNG."""
        if training:
            u = torch.rand_like(log_alpha).clamp(1e-7, 1 - 1e-7)
            s = torch.sigmoid((u.log() - (1 - u).log() + log_alpha) / temperature)
        else:
            s = torch.sigmoid(log_alpha)
        return (s * (self.zeta - self.gamma) + self.gamma).clamp(0.0, 1.0)

    def l0_penalty(self, log_alpha: Tensor, temperature: float) -> Tensor:
        """Expected fraction of open gates, as the reference computes it (its ``l0_norm``)."""
        return torch.sigmoid(log_alpha - temperature * math.log(-self.gamma / self.zeta)).mean()

    def propagate(self, ops: GraphOps, graph: Graph, x: Tensor, temperature: float
                  ) -> tuple[Tensor, Tensor]:
        """The generator's own training pass: sampled gates per layer, LightGCN-style sum of
        layers. Returns the output ``(N, d)`` and the summed L0 penalty of all layers."""
        total, h = x, x
        l0 = x.new_zeros(())
        for layer in range(self.layers):
            log_alpha = self.log_alpha(layer, graph, h)
            h = ops.spmm(gated_graph(graph, self.gates(log_alpha, temperature, True)), h)
            total = total + h
            l0 = l0 + self.l0_penalty(log_alpha, temperature)
        return total, l0

    def layer_graph(self, graph: Graph) -> Callable[[int, Tensor], Graph]:
        """``View.layer_graph`` for the backbone: deterministic gates from each layer's input,
        with no gradient into the gates (the backbone's losses do not train the generator)."""

        def build(layer: int, h: Tensor) -> Graph:
            with torch.no_grad():
                log_alpha = self.log_alpha(layer, graph, h.detach())
                return gated_graph(graph, self.gates(log_alpha, 1.0, False))

        return build


def gated_graph(graph: Graph, gate: Tensor, eps: float = 1e-6, max_scale: float = 10.0) -> Graph:
    """``graph`` weighted by ``gate`` and re-normalised symmetrically.

    .. math:: w_{uv} = g_{uv} \\, d_v^{-1/2} d_u^{-1/2}, \\quad d_v = \\epsilon + \\sum_{u \\to v} g_{uv}

    Both ends use the gated in-degree (the reference's row sum), and each ``d^{-1/2}`` is
    capped at ``max_scale`` so that a node whose gates all closed does not blow up.
    """
    degree = gate.new_zeros(graph.num_dst).index_add(0, graph.dst, gate) + eps
    scale = degree.pow(-0.5).clamp(max=max_scale)
    return graph.with_weight(gate * scale[graph.dst] * scale[graph.src])
