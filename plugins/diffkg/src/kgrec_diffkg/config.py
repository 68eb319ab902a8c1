"""DiffKG's hyper-parameters: every reference option, its default, and the paper's presets.

Defaults are the reference code's (``Params.py`` of HKUDS/DiffKG); the Last-FM command line of
its README is the preset ``lastfm``. The backbone's own settings (learning rate, BPR batch,
L2 weight) stay in ``train.*`` and ``<recommender>.*``; the preset sets the recommender's
``reg`` because the reference's Last-FM command does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from kgrec.diffusion import DiffusionConfig


@dataclass
class DiffKGConfig:
    """Options of the ``diffkg`` augmenter (``--set diffkg.<field>=value``)."""

    renamed: ClassVar[dict[str, str]] = {
        "lr": "diffusion.lr", "batch": "diffusion.batch_size", "steps": "diffusion.steps",
        "noise_scale": "diffusion.noise_scale", "noise_min": "diffusion.noise_min",
        "noise_max": "diffusion.noise_max", "sampling_steps": "diffusion.sampling_steps",
        "dims": "diffusion.hidden", "d_emb_size": "diffusion.time_dim",
        "norm": "diffusion.normalize_input"}
    """Keys that moved into the shared ``diffusion`` section (named in the error)."""

    # --- KG encoder (relation-aware attention, trained jointly with BPR) ---
    layer_num_kg: int = 1
    """Hops of the relation-aware attention KG encoder."""
    mess_dropout: float = 0.1
    """Dropout on each hop's output (the reference's mess_dropout_rate)."""
    res_lambda: float = 0.5
    """Residual weight: out = res_lambda * out + hop output, after every hop."""
    triplet_num: int = 10
    """KG edges sampled per head once at start (-1 = all), as the reference samples them."""
    # --- contrast between the denoised-KG and original-KG views ---
    ssl_reg: float = 0.1
    """Weight of the InfoNCE contrast between the two views."""
    temp: float = 0.1
    """InfoNCE temperature."""
    cl_pattern: int = 0
    """0: the denoised KG feeds BPR and evaluation; 1: the original KG does."""
    # --- diffusion over rows of the KG adjacency (trained in fit_epoch, not with BPR) ---
    diffusion: DiffusionConfig = field(
        default_factory=lambda: DiffusionConfig(normalize_input=True))
    """The denoiser, its schedule and its own Adam (``diffkg.diffusion.steps``, ...); the
    reference's steps, noise_*, sampling_steps, dims, d_emb_size, norm, lr and batch."""
    e_loss: float = 0.5
    """Denoiser loss = (1 - e_loss) * ELBO + e_loss * CKGC."""
    # --- rebuilding the denoised KG each epoch ---
    rebuild_k: int = 1
    """Entities kept per item from its denoised row (top-k) before masking to the KG."""
    keep_rate: float = 0.5
    """Fraction of the rebuilt KG's edges kept (independent random dropout per epoch)."""
    diffuse_every: int = 1
    """Train the denoiser and rebuild every this many epochs (reference: 1); the keep-rate
    dropout of the last rebuild is still redrawn every epoch. A CPU-budget knob."""
    # --- which KG the views see, and what is diffused ---
    kg_view: Literal["rebuilt", "original", "original-edge-dropout", "as-run"] = "rebuilt"
    """The KG of the generated view (the second view, or the main one with cl_pattern 0):
    ``rebuilt``: the KG rebuilt from the denoised rows every epoch (DiffKG as the paper
    describes it); ``original``: the original KG, no denoiser (the ablation without
    diffusion); ``original-edge-dropout``: the original KG with keep_rate edge dropout
    redrawn every epoch, no denoiser; ``as-run``: what HKUDS/DiffKG's Main.py trains
    (c924659): the denoiser trains and rebuilds every epoch, but both training views
    propagate the original KG with independent message dropout (Main.py passes the rebuilt
    KG into Model.forward's ``mess_dropout`` argument), and only the cl_pattern 0 test
    evaluation sees the rebuilt KG."""
    rows: Literal["items", "entities"] = "items"
    """Rows the denoiser diffuses: each linked item's KG row (``items``), or every entity's
    (``entities``, as the reference diffuses the whole E x E adjacency)."""
    columns: Literal["neighbourhood", "all"] = "neighbourhood"
    """Entities the diffused rows cover: ``neighbourhood`` = the rows' entities, the items'
    entities and every entity adjacent to a row (the only columns the rebuild and CKGC read;
    other columns are zero in every x_0), ``all`` = every entity, as the reference does."""
    ckgc: bool = True
    """Train the denoiser with the CKGC term (False: ELBO only)."""
    contrast: bool = True
    """Add the InfoNCE contrast to the recommender loss (False: no second view at all)."""
    reg: float = 0.0
    """L2 on every parameter of the KG encoder (entity and relation tables, attention
    weight), ``reg * sum ||p||^2`` added every step. With ``<backbone>.reg_on = "tables"`` and
    the same weight this is the reference's ``calcRegLoss`` over all of its parameters."""

    def __post_init__(self) -> None:
        checks = [
            (self.layer_num_kg >= 1, "layer_num_kg must be >= 1"),
            (0 <= self.mess_dropout < 1, "mess_dropout must be in [0, 1)"),
            (self.res_lambda >= 0, "res_lambda must be >= 0"),
            (self.triplet_num == -1 or self.triplet_num >= 1, "triplet_num must be -1 or >= 1"),
            (self.ssl_reg >= 0 and self.temp > 0, "ssl_reg must be >= 0 and temp > 0"),
            (self.cl_pattern in (0, 1), "cl_pattern must be 0 or 1"),
            (0 <= self.e_loss <= 1, "e_loss must be in [0, 1]"),
            (self.rebuild_k >= 1, "rebuild_k must be >= 1"),
            (0 < self.keep_rate <= 1, "keep_rate must be in (0, 1]"),
            (self.diffuse_every >= 1, "diffuse_every must be >= 1"),
            (self.reg >= 0, "reg must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"diffkg.{message}")


PRESETS = {
    # README of HKUDS/DiffKG: python Main.py --data lastfm --reg 1e-5 --mess_dropout_rate 0.2
    #   --layer_num_kg 2 --res_lambda 0 --triplet_num -1 --cl_pattern 1 --keepRate 0.1 --e_loss 0.01
    "lastfm": {
        "augmenter": {"mess_dropout": 0.2, "layer_num_kg": 2, "res_lambda": 0.0,
                      "triplet_num": -1, "cl_pattern": 1, "keep_rate": 0.1, "e_loss": 0.01},
        "recommender": {"reg": 1e-5},
    },
}
