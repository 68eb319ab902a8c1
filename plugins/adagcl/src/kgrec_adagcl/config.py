"""AdaptiveGCL's options, with the SSLRec configuration as defaults.

SSLRec's ``adagcl.yml``: layer_num 2, reg_weight 1e-5, cl_weight 0.1, ib_weight 0.01,
temperature 0.5, embedding_size 32, gamma -0.45, zeta 1.05, init_temperature 2.0,
temperature_decay 0.98, lambda0 1e-4; Adam lr 1e-3, batch 4096. The backbone's and the
training loop's share of these (embedding size, layers, reg, lr, batch) is the preset
``sslrec``; the rest are fields here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class AdaGCLConfig:
    """Options of the ``adagcl`` augmenter (``--set adagcl.<field>=value``)."""

    cl_weight: float = 0.1
    """Weight of the InfoNCE between the generative and the denoising view (0: no contrast)."""
    ib_weight: float = 0.01
    """Weight of the information-bottleneck term (0: the paper's "w/o IB")."""
    temperature: float = 0.5
    """InfoNCE temperature of both the contrastive and the bottleneck term."""
    contrast_unique: bool = True
    """Contrast each distinct user and item of the batch once; False: one row per batch entry,
    repeats included (SSLRec's form: a repeated node is then also its own negative)."""
    kl_weight: float = 0.1
    """Weight of the VGAE's KL term in the generative view's own loss."""
    keep_threshold: float = 0.5
    """The generative view keeps a training edge when its decoded probability is at least this."""
    gamma: float = -0.45
    """Lower end of the hard-concrete stretch interval (gamma < 0)."""
    zeta: float = 1.05
    """Upper end of the hard-concrete stretch interval (zeta > 1)."""
    gate_temperature: float = 2.0
    """Hard-concrete temperature in the first epoch."""
    gate_temperature_decay: float = 0.98
    """Multiply the hard-concrete temperature by this after every epoch."""
    gate_temperature_min: float = 0.05
    """Floor of the decayed hard-concrete temperature."""
    lambda0: float = 1e-4
    """Weight of the L0 penalty on the denoising gates."""
    layers: int = 2
    """Gated layers of the denoising view; must equal the backbone's propagation layers."""
    generator_lr: float = 1e-3
    """Adam learning rate of both view generators (SSLRec uses the backbone's, 1e-3)."""
    task_aware: bool = True
    """Train the generators with BPR on their own outputs as well (off: the paper's "w/o Task")."""

    def __post_init__(self) -> None:
        if self.cl_weight < 0 or self.ib_weight < 0 or self.kl_weight < 0 or self.lambda0 < 0:
            raise ValueError("cl_weight, ib_weight, kl_weight and lambda0 must be >= 0")
        if self.temperature <= 0 or self.gate_temperature <= 0 or self.gate_temperature_min <= 0:
            raise ValueError("temperatures must be > 0")
        if not 0 < self.gate_temperature_decay <= 1:
            raise ValueError("gate_temperature_decay must be in (0, 1]")
        if not 0 <= self.keep_threshold <= 1:
            raise ValueError("keep_threshold must be in [0, 1]")
        if not (self.gamma < 0 and self.zeta > 1):
            raise ValueError("the hard-concrete interval needs gamma < 0 < 1 < zeta")
        if self.layers < 1 or self.generator_lr <= 0:
            raise ValueError("layers must be >= 1 and generator_lr > 0")

    def gate_temperature_at(self, epoch: int) -> float:
        """The hard-concrete temperature in (1-based) ``epoch``: decayed once per epoch, floored."""
        return max(self.gate_temperature_min,
                   self.gate_temperature * self.gate_temperature_decay ** (epoch - 1))


PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "sslrec": {
        "recommender": {"dim": 32, "layers": 2, "reg": 1e-5},
        "train": {"lr": 1e-3, "batch_size": 4096},
        "augmenter": {"layers": 2},
    },
}
"""SSLRec's AdaGCL configuration (its ``adagcl.yml``), for ``--set preset=sslrec``."""
