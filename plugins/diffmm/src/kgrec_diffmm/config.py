"""DiffMM's hyper-parameters, with the reference repository's defaults, and its named presets.

Reference code: ``HKUDS/DiffMM`` ``Params.py`` (defaults) and ``README.md`` (per-dataset
command lines). Names follow the reference where they are one word; ``keepRate`` is
``keep_rate`` here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from kgrec import ConfigError
from kgrec.diffusion import DiffusionConfig


@dataclass
class DiffMMConfig:
    """Options of the ``diffmm`` augmenter (``--set diffmm.<field>=value``)."""

    renamed: ClassVar[dict[str, str]] = {
        "lr": "diffusion.lr", "batch_size": "diffusion.batch_size", "dims": "diffusion.hidden",
        "d_emb_size": "diffusion.time_dim", "norm": "diffusion.normalize_input",
        "steps": "diffusion.steps", "noise_scale": "diffusion.noise_scale",
        "noise_min": "diffusion.noise_min", "noise_max": "diffusion.noise_max",
        "sampling_steps": "diffusion.sampling_steps", "sampling_noise": "diffusion.sampling_noise"}
    """Keys that moved into the shared ``diffusion`` section (named in the error)."""

    trans: int = 0
    """Feature projection: 0 = features @ W then LeakyReLU(0.2) (reference default), 1 = Linear."""
    ssl_reg: float = 1e-2
    """Weight of the cross-modal contrastive loss."""
    temp: float = 0.5
    """Temperature of the contrastive loss."""
    cl_method: int = 0
    """Contrast pairs: 0 = modality views pairwise, 1 = each modality view vs the main embedding."""
    cl_view: Literal["reference", "modal"] = "reference"
    """Modality view for the contrast: ``reference`` = one hop of [users; features] over the
    modality graph, then the backbone over the main graph (forward_cl_MM); ``modal`` = the
    backbone run on the modality graph itself."""
    keep_rate: float = 0.5
    """Share of a rebuilt modality graph's edges kept (kept weights are divided by it)."""
    rebuild_k: int = 1
    """Items kept per user from each denoised row when rebuilding a modality graph."""
    e_loss: float = 0.1
    """Weight of the modality-aware alignment loss in each denoiser's objective."""
    ris_lambda: float = 0.5
    """Weight of the normalised fused modal embedding added to the backbone's output."""
    ris_adj_lambda: float = 0.2
    """Weight of the [users; items] propagation over each modality graph in the fused input."""
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    """The denoisers (one per modality, I -> hidden -> I), their schedule and their Adam
    (``diffmm.diffusion.steps``, ...); the reference's steps, noise_*, sampling_steps, dims,
    d_emb_size, norm, and its --lr and --batch reused for the denoisers."""
    modal_graphs: Literal["generated", "original"] = "generated"
    """Ablation switch. ``original``: no denoisers; the original graph stands in for every
    modality graph."""
    alignment: bool = True
    """Ablation switch. False: denoisers train on the diffusion loss alone (as e_loss = 0)."""
    contrast: bool = True
    """Ablation switch. False: no cross-modal contrastive loss (as ssl_reg = 0)."""

    def __post_init__(self) -> None:
        checks = [
            (self.trans in (0, 1), "diffmm.trans must be 0 (matrix + LeakyReLU) or 1 (Linear)"),
            (self.cl_method in (0, 1), "diffmm.cl_method must be 0 (pairwise) or 1 (vs main)"),
            (self.ssl_reg >= 0 and self.e_loss >= 0, "diffmm.ssl_reg and diffmm.e_loss must be >= 0"),
            (self.temp > 0, "diffmm.temp must be > 0"),
            (0 < self.keep_rate <= 1, "diffmm.keep_rate must be in (0, 1]"),
            (self.rebuild_k >= 1, "diffmm.rebuild_k must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)


def reference_preset(**readme: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One README command of the reference as a preset: every setting its ``Params.py``
    defaults and the command imply, on both sides, laid over kgrec's own defaults.

    ``readme`` holds the command's flags as preset sections (``augmenter``, ``recommender``).
    Each value below is the reference's (``Params.py`` name in the comment); the plugin README
    lists them. The generic ``recommender`` section applies to any backbone; the ``lightgcn``
    section is the reference's own backbone: one GCN layer over ``D^-1/2 (A + I) D^-1/2``,
    layers summed, L2 on the whole id tables.
    """
    base = {
        "augmenter": {
            "trans": 0,                # --trans
            "ssl_reg": 1e-2,           # --ssl_reg
            "temp": 0.5,               # --temp
            "cl_method": 0,            # --cl_method
            "cl_view": "reference",    # forward_cl_MM
            "keep_rate": 0.5,          # --keepRate
            "rebuild_k": 1,            # --rebuild_k
            "e_loss": 0.1,             # --e_loss
            "ris_lambda": 0.5,         # --ris_lambda
            "ris_adj_lambda": 0.2,     # --ris_adj_lambda
            "modal_graphs": "generated", "alignment": True, "contrast": True,
            "diffusion": {
                "steps": 5,                 # --steps
                "noise_scale": 0.1,         # --noise_scale
                "noise_min": 1e-4,          # --noise_min
                "noise_max": 0.02,          # --noise_max
                "schedule": "linear-var",   # get_betas
                "beta_fixed": True,         # GaussianDiffusion(beta_fixed=True)
                "reweight": True,           # SNR(t-1) - SNR(t) in training_losses
                "sampling_steps": 0,        # --sampling_steps
                "sampling_noise": False,    # --sampling_noise
                "hidden": [1000],           # --dims
                "time_dim": 10,             # --d_emb_size
                "normalize_input": False,   # --norm
                "dropout": 0.5,             # Denoise(dropout=0.5)
                "lr": 1e-3,                 # --lr (the denoisers' Adam)
                "batch_size": 1024,         # --batch (diffusionLoader)
            },
        },
        "recommender": {
            "dim": 64,                 # --latdim
            "reg": 1e-5,               # --reg
        },
        "lightgcn": {
            "layers": 1,               # --gnn_layer
            "self_loops": True,        # makeTorchAdj: (A + I), then normalised
            "reg_on": "tables",        # Model.reg_loss: ||uEmbeds||^2 + ||iEmbeds||^2 per step
        },
        "train": {
            "epochs": 50,              # --epoch
            "batch_size": 1024,        # --batch
            "lr": 1e-3,                # --lr
            "lr_decay": 1.0,           # constant learning rate
            "eval_every": 1,           # --tstEpoch
            "select_metric": "recall@20",  # --topk 20; the best epoch by Recall (on test there)
            "patience": 50,            # no early stopping: every epoch runs
        },
    }
    preset = {section: dict(values) for section, values in base.items()}
    for section, values in readme.items():
        preset[section] = {**preset.get(section, {}), **values}
    return preset


PRESETS = {
    # README: python Main.py --data tiktok --reg 1e-4 --ssl_reg 1e-2 --epoch 50 --trans 1
    #         --e_loss 0.1 --cl_method 1
    "tiktok": reference_preset(
        augmenter={"ssl_reg": 1e-2, "trans": 1, "e_loss": 0.1, "cl_method": 1},
        recommender={"reg": 1e-4}, train={"epochs": 50}),
    # README: python Main.py --data baby --reg 1e-5 --ssl_reg 1e-1 --keepRate 1 --e_loss 0.01
    "baby": reference_preset(
        augmenter={"ssl_reg": 1e-1, "keep_rate": 1.0, "e_loss": 0.01},
        recommender={"reg": 1e-5}),
    # README: python Main.py --data sports --reg 1e-6 --ssl_reg 1e-2 --temp 0.1 --ris_lambda 0.1
    #         --e_loss 0.5 --keepRate 1 --trans 1
    "sports": reference_preset(
        augmenter={"ssl_reg": 1e-2, "temp": 0.1, "ris_lambda": 0.1, "e_loss": 0.5,
                   "keep_rate": 1.0, "trans": 1},
        recommender={"reg": 1e-6}),
}
"""Per-dataset settings: the reference README's command lines over its ``Params.py``
defaults, every setting spelled out (kgrec's defaults may change; a paper recipe must not)."""
