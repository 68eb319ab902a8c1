"""The kernel contract and the choice of backend.

Every convolution in kgrec and its plugins is written against :class:`GraphOps`, so a model
reads as its math and runs on pure torch (the default, and the faster backend wherever it
was measured) or, when asked for, on DGL's kernels. Both have the same semantics; tests
assert it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import torch
from torch import Tensor

from kgrec.errors import KgrecError
from kgrec.graph.graph import Graph

BackendName = Literal["auto", "dgl", "torch"]


class GraphOps(Protocol):
    """Message-passing kernels over a :class:`Graph` (messages flow src -> dst)."""

    name: str

    def spmm(self, graph: Graph, x: Tensor, weight: Tensor | None = None) -> Tensor:
        """``out[v] = sum_(u->v) w_e * x[u]``; ``weight`` overrides ``graph.weight``.

        Shapes: x ``(num_src, d)``, weight ``(E,)`` (may require grad), out ``(num_dst, d)``.
        """

    def sddmm(self, graph: Graph, a: Tensor, b: Tensor) -> Tensor:
        """Per-edge dot product ``<a[src], b[dst]>``. Shapes: a ``(num_src, d)``,
        b ``(num_dst, d)``, out ``(E,)``."""

    def edge_softmax(self, graph: Graph, logits: Tensor) -> Tensor:
        """Softmax of ``logits`` ``(E,)`` over the incoming edges of each dst node."""


@dataclass(frozen=True)
class BackendChoice:
    """Which backend runs, and why (recorded with every run)."""

    ops: GraphOps
    name: str
    reason: str


def dgl_unavailable_reason(device: torch.device) -> str | None:
    """Why DGL cannot run kernels on ``device``, or None when it can (one tiny probe)."""
    try:
        from kgrec.graph.dgl_ops import DGLOps
    except Exception as exc:  # ImportError, OSError from graphbolt's native library, ...
        return f"dgl does not import: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    try:
        ops = DGLOps()
        g = Graph(torch.tensor([0, 1], device=device), torch.tensor([1, 0], device=device), 2, 2)
        ops.spmm(g, torch.ones(2, 1, device=device))
    except Exception as exc:  # DGLError "Device API cuda is not enabled", ...
        return f"dgl has no kernels for {device}: {str(exc).splitlines()[0][:200]}"
    return None


AUTO_REASON = ("auto: the torch backend, measured faster than DGL 2.1 on CPU for every kgrec "
               "model (LightGCN epochs 1.7-2x, docs/benchmarks.md); PyPI's DGL has no CUDA kernels")


def select_ops(backend: str, device: torch.device) -> BackendChoice:
    """Pick the kernel backend: ``torch`` for ``auto`` (the faster one wherever it was
    measured, see :data:`AUTO_REASON`); ``dgl`` only when asked for, and then a user error
    (exit 2) that says why if it cannot run on ``device``."""
    from kgrec.graph.torch_ops import TorchOps

    if backend == "torch":
        return BackendChoice(TorchOps(), "torch", "requested")
    if backend == "auto":
        return BackendChoice(TorchOps(), "torch", AUTO_REASON)
    if backend != "dgl":
        raise KgrecError(f"unknown backend {backend!r}; choose auto, dgl or torch")
    reason = dgl_unavailable_reason(device)
    if reason is not None:
        raise KgrecError(f"backend 'dgl' cannot run: {reason}; use --backend torch")
    from kgrec.graph.dgl_ops import DGLOps

    return BackendChoice(DGLOps(), "dgl", "requested")
