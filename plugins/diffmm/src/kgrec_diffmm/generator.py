"""One graph-row denoiser per modality, trained with the modality-aware alignment loss.

Reference code: ``Coach.trainEpoch`` and ``GaussianDiffusion.training_losses`` in
``HKUDS/DiffMM``. ``x_0`` is a user's row of R (length I). Each denoiser's loss is the
reweighted diffusion MSE plus ``e_loss`` times the alignment

.. math:: \\lVert \\hat x_0 F_m - x_0 E_{item} \\rVert^2 / d

with the projected features ``F_m`` and item id embeddings ``E_item`` detached, so the
alignment moves only the denoiser. The diffusion itself is :mod:`kgrec.diffusion`.
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor, nn

from kgrec import Graph
from kgrec.diffusion import Denoiser, DiffusionConfig, GaussianDiffusion
from kgrec.train.memory import fit_batch_size

from kgrec_diffmm.rebuild import InteractionRows, rebuild_graph, top_k_items


class ModalityDiffusion(nn.Module):
    """Denoisers (one per modality) with their own Adam, and the per-epoch rebuild.

    Adam keeps state per parameter, so one Adam over all denoisers equals the reference's
    one Adam per denoiser stepped on the summed loss.
    """

    def __init__(self, names: list[str], num_items: int, config: DiffusionConfig,
                 hidden: tuple[int, ...], time_dim: int, normalize_input: bool, lr: float,
                 device: torch.device):
        super().__init__()
        self.names = list(names)
        self.diffusion = GaussianDiffusion(config).to(device)
        self.denoisers = nn.ModuleDict({
            name: Denoiser(num_items, hidden=hidden, time_dim=time_dim,
                           normalize_input=normalize_input).to(device)
            for name in self.names})
        self.optimizer = torch.optim.Adam(self.denoisers.parameters(), lr=lr)

    def train_epoch(self, rows: InteractionRows, features: Mapping[str, Tensor], item_emb: Tensor,
                    e_loss: float, batch_size: int, generator: torch.Generator) -> dict[str, float]:
        """One pass over all users in shuffled batches; returns mean losses per modality.

        ``features[m]`` ``(I, d)`` and ``item_emb`` ``(I, d)`` must already be detached.
        """
        self.denoisers.train()
        device = item_emb.device
        order = torch.randperm(rows.num_users, generator=generator).to(device)
        sums = {f"{kind}_{name}": 0.0 for name in self.names for kind in ("diffusion", "align")}
        # Every modality's graph is alive until the summed loss's backward; the batch sets the
        # number of Adam steps, so one that does not fit is refused rather than shrunk.
        row_bytes = sum(self.denoisers[name].row_bytes(training=True) for name in self.names)
        batch_size = fit_batch_size(rows.num_users, row_bytes, batch_size, device=device,
                                    setting="diffmm.batch_size", shrink=False)
        batches = 0
        for start in range(0, rows.num_users, batch_size):  # a loop over batches, not users
            x0 = rows.dense(order[start:start + batch_size])
            target = x0 @ item_emb if e_loss > 0 else None
            total = x0.new_zeros(())
            for name in self.names:
                diff, x0_hat = self.diffusion.training_loss(self.denoisers[name], x0)
                loss = diff.mean()
                sums[f"diffusion_{name}"] += float(loss.detach())
                if target is not None:
                    align = (x0_hat @ features[name] - target).pow(2).mean(dim=1).mean()
                    loss = loss + e_loss * align
                    sums[f"align_{name}"] += float(align.detach())
                total = total + loss
            self.optimizer.zero_grad(set_to_none=True)
            total.backward()
            self.optimizer.step()
            batches += 1
        return {key: value / max(batches, 1) for key, value in sums.items()
                if e_loss > 0 or not key.startswith("align_")}

    @torch.no_grad()
    def rebuild(self, rows: InteractionRows, rebuild_k: int, keep_rate: float, batch_size: int,
                generator: torch.Generator) -> dict[str, Graph]:
        """Denoise every user's row, keep its top ``rebuild_k`` items, build and drop out one
        graph per modality. The reverse chain runs without the input dropout, as the
        reference's ``p_sample`` does."""
        was_training = self.denoisers.training
        self.denoisers.eval()
        device = rows.indices.device
        users = torch.arange(rows.num_users, device=device)
        tops: dict[str, list[Tensor]] = {name: [] for name in self.names}
        # Users are denoised independently (one modality at a time), so smaller blocks give the
        # same rows (with sampling noise on, rows from the same distribution).
        row_bytes = max(self.denoisers[name].row_bytes(training=False) for name in self.names)
        batch_size = fit_batch_size(rows.num_users, row_bytes, batch_size, device=device,
                                    setting="diffmm.batch_size")
        for start in range(0, rows.num_users, batch_size):
            x0 = rows.dense(users[start:start + batch_size])
            for name in self.names:
                denoised = self.diffusion.sample(self.denoisers[name], x0, generator=generator)
                tops[name].append(top_k_items(denoised, rebuild_k))
        self.denoisers.train(was_training)
        return {name: rebuild_graph(torch.cat(tops[name]), users, rows.num_users, rows.num_items,
                                    keep_rate, generator)
                for name in self.names}
