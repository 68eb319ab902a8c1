"""RecDiff (Li et al., CIKM 2024): denoise social ties in latent space, not in the graph.

A social GCN encodes each user from the trust graph; a latent diffusion model denoises that
social embedding ``s_u``; the result is added to the backbone's user embedding before
scoring. The diffusion loss is trained jointly with BPR, the denoiser at its own learning
rate ``difflr``.

Hooks:

- ``refine`` (training): ``s = SocialGCN(e_user^0)`` for *all* users, one diffusion training
  draw per user (uniform ``t``, fresh noise), ``users + x0_hat``; every user gets a draw,
  because evaluation-time embeddings cover every user. The diffusion loss of the same draw
  goes into the step's record (``ctx.add_loss``): the per-user loss averaged over the
  batch's rows (users repeat as often as they have positives in the batch, the reference's
  weighting). The one difference from the reference, which draws per batch row: a user
  appearing twice in a batch shares one ``t`` and one noise draw. Equal in expectation.
- ``refine`` (evaluation): the deterministic reverse chain from ``s_u`` (``sampling_steps``
  0), added to every user.
- ``param_groups``: the social GCN at ``train.lr``, the denoiser at ``diffusion.lr``
  (the reference's ``difflr``); one Adam
  with two groups equals the reference's two Adams (weight decay 0, per-parameter state),
  and the trainer's StepLR decays both (``train.lr_decay``, 0.985 in the presets).

The layer-0 user embeddings fed to the social GCN are the backbone's own table (the
reference shares it between both encoders); :meth:`bind` checks the sizes agree.

Reference code: HKUDS/RecDiff ``main.py`` (``train_one_epoch``, ``test``).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from kgrec import ConfigError, Context, Embeddings, GraphAugmenter, Recommender, Setup
from kgrec_recdiff.config import PRESETS, RecDiffConfig
from kgrec_recdiff.denoise import DenoisingAutoencoder, LatentDiffusion, Passthrough
from kgrec_recdiff.encoder import SocialGCN, social_graph


class RecDiff(GraphAugmenter):
    """Adds the (denoised) social embedding to every user embedding; see the module docstring."""

    Config = RecDiffConfig
    requires = frozenset({"social"})
    presets = PRESETS
    search_space = {"s_layers": {"low": 1, "high": 3}, "negative_slope": {"low": 0.0, "high": 0.9}}
    """What ``kgrec tune`` searches by default (a TOML file overrides it)."""

    def __init__(self, config: RecDiffConfig, setup: Setup):
        super().__init__(config, setup)
        data = setup.data
        dim = setup.embedding_dim
        self.dim = dim
        self.social = SocialGCN(dim, config.s_layers, config.weight, config.negative_slope)
        self._graph = social_graph(data.social, data.num_users, config.social_direction,
                                   setup.device)
        if config.mode == "none":
            self.denoise = Passthrough()
        else:
            denoiser = config.diffusion.denoiser(dim)
            self.denoise = (LatentDiffusion(config.diffusion, denoiser)
                            if config.mode == "diffusion"
                            else DenoisingAutoencoder(denoiser, config.dae_noise))

    def bind(self, model: Recommender) -> None:
        if model.embedding_dim != self.dim:
            raise ConfigError(f"recdiff sizes its social GCN and denoiser for dim {self.dim}, "
                              f"but the recommender has dim {model.embedding_dim}")

    def param_groups(self) -> list[dict[str, Any]]:
        groups = []
        social = [p for p in self.social.parameters() if p.requires_grad]
        if social:
            groups.append({"params": social})
        denoiser = [p for p in self.denoise.parameters() if p.requires_grad]
        if denoiser:
            groups.append({"params": denoiser, "lr": self.config.diffusion.lr})
        return groups

    def social_embeddings(self, ctx: Context) -> Tensor:
        """``s`` for all users from the backbone's layer-0 user table. Shapes: ``(U, d)``."""
        return self.social(ctx.ops, self._graph, ctx.base.users)

    def refine(self, emb: Embeddings, ctx: Context) -> Embeddings:
        s = self.social_embeddings(ctx)
        if ctx.training:
            per_user, s_hat = self.denoise.train_step(s)
            if per_user is not None and ctx.batch is not None:
                name = "diffusion" if self.config.mode == "diffusion" else "dae"
                ctx.add_loss(name, per_user[ctx.batch.users].mean())
            if ctx.batch is not None:  # how large the social correction is beside the embedding
                ctx.report("health_latent_ratio", s_hat.detach().norm(dim=1).mean()
                           / emb.users.detach().norm(dim=1).mean().clamp_min(1e-12))
        else:
            s_hat = self.denoise.infer(s, ctx.generator)
        return Embeddings(emb.users + s_hat, emb.items)
