"""DiffKG's hyper-parameters: every reference option, its default, and the paper's presets.

Defaults are the reference code's (``Params.py`` of HKUDS/DiffKG); the Last-FM command line of
its README is the preset ``lastfm``. The backbone's own settings (learning rate, BPR batch,
L2 weight) stay in ``train.*`` and ``<recommender>.*``; the preset sets the recommender's
``reg`` because the reference's Last-FM command does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class DiffKGConfig:
    """Options of the ``diffkg`` augmenter (``--set diffkg.<field>=value``)."""

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
    # --- diffusion over item rows of the item-entity adjacency ---
    lr: float = 1e-3
    """Learning rate of the denoiser's own Adam (trained in fit_epoch, not with BPR)."""
    batch: int = 1024
    """Item rows per denoiser step and per rebuild block (the reference shares its BPR batch)."""
    steps: int = 5
    """Diffusion steps T."""
    noise_scale: float = 0.1
    """Scale of the linear-variance noise schedule."""
    noise_min: float = 1e-4
    """Lower bound of the noise schedule (before noise_scale)."""
    noise_max: float = 0.02
    """Upper bound of the noise schedule (before noise_scale)."""
    sampling_steps: int = 0
    """The rebuild's reverse chain starts from q(x_s | x_0) at this step; 0 = from x_0."""
    dims: tuple[int, ...] = (1000,)
    """Hidden sizes of the denoiser MLP (columns -> dims -> columns)."""
    d_emb_size: int = 10
    """Size of the denoiser's timestep embedding."""
    norm: bool = True
    """L2-normalise the denoiser's input rows (the reference's norm)."""
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
    # --- ablations and scale (not in the reference) ---
    kg_view: Literal["denoised", "original", "dropout"] = "denoised"
    """Second KG view: ``denoised`` (DiffKG), ``original`` (ablation without diffusion: the
    original KG, no denoiser), ``dropout`` (what the reference code effectively trains: its
    rebuilt KG is overwritten by the original KG with random edges kept at keep_rate)."""
    ckgc: bool = True
    """Train the denoiser with the CKGC term (False: ELBO only)."""
    contrast: bool = True
    """Add the InfoNCE contrast to the recommender loss (False: no second view at all)."""
    columns: Literal["neighbourhood", "all"] = "neighbourhood"
    """Entities the diffused rows cover: ``neighbourhood`` = items plus every entity adjacent
    to an item (the only columns the rebuild and CKGC read; other columns are zero in every
    x_0), ``all`` = every entity, as the reference does."""

    def __post_init__(self) -> None:
        checks = [
            (self.layer_num_kg >= 1, "layer_num_kg must be >= 1"),
            (0 <= self.mess_dropout < 1, "mess_dropout must be in [0, 1)"),
            (self.res_lambda >= 0, "res_lambda must be >= 0"),
            (self.triplet_num == -1 or self.triplet_num >= 1, "triplet_num must be -1 or >= 1"),
            (self.ssl_reg >= 0 and self.temp > 0, "ssl_reg must be >= 0 and temp > 0"),
            (self.cl_pattern in (0, 1), "cl_pattern must be 0 or 1"),
            (self.lr > 0 and self.batch >= 1, "lr must be > 0 and batch >= 1"),
            (self.steps >= 1 and 0 <= self.sampling_steps <= self.steps,
             "need steps >= 1 and 0 <= sampling_steps <= steps"),
            (self.noise_scale >= 0 and 0 <= self.noise_min <= self.noise_max < 1,
             "need noise_scale >= 0 and 0 <= noise_min <= noise_max < 1"),
            (len(self.dims) >= 1 and all(d >= 1 for d in self.dims), "dims must be positive sizes"),
            (self.d_emb_size >= 1, "d_emb_size must be >= 1"),
            (0 <= self.e_loss <= 1, "e_loss must be in [0, 1]"),
            (self.rebuild_k >= 1, "rebuild_k must be >= 1"),
            (0 < self.keep_rate <= 1, "keep_rate must be in (0, 1]"),
            (self.diffuse_every >= 1, "diffuse_every must be >= 1"),
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
