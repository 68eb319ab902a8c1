"""Diffusion over item rows of the item-entity adjacency, trained on ELBO + CKGC.

x_0 for an item is its row of the KG adjacency (inverse edges included), binary, over the
chosen entity columns. Rows stay as sorted index arrays (:class:`ItemRows`) and one batch at a
time is densified, so memory is batch x columns, never entities x entities.

The generator (denoiser, schedule, own Adam) lives in :class:`RowDiffusion`, deliberately not
an ``nn.Module`` attribute of the augmenter: its two ``columns x 1000`` layers are the largest
tensors of a run, they are trained only here (never with BPR), and the best-epoch checkpoint
does not need them (test reads the rebuilt KG, which the augmenter keeps).

Reference code: ``GaussianDiffusion.training_losses`` and ``Coach.trainEpoch`` in
HKUDS/DiffKG; the diffusion itself is :mod:`kgrec.diffusion`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from kgrec.diffusion import Denoiser, DiffusionConfig, GaussianDiffusion
from kgrec.train.memory import fit_batch_size
from kgrec_diffkg.config import DiffKGConfig
from kgrec_diffkg.kg import KGIndex, segments


@dataclass(frozen=True)
class ItemRows:
    """The diffused rows: one per item linked to an entity.

    Shapes: items, entities, starts, counts, item_columns ``(n,)``; columns ``(C,)`` (entity
    id of each column, ascending); column_of ``(E,)`` (column of each entity, -1 if none).
    ``item_columns[j]`` is the column of row ``j``'s own entity (what CKGC reads).
    """

    index: KGIndex
    items: Tensor
    entities: Tensor
    starts: Tensor
    counts: Tensor
    columns: Tensor
    column_of: Tensor
    item_columns: Tensor

    @classmethod
    def build(cls, index: KGIndex, item_entity: Tensor,
              columns: Literal["neighbourhood", "all"]) -> "ItemRows":
        items = torch.nonzero(item_entity >= 0).view(-1)
        entities = item_entity[items]
        starts, counts = index.spans(entities)
        E = index.num_entities
        if columns == "all":
            cols = torch.arange(E, device=items.device)
        else:
            positions, _ = segments(starts, counts)
            cols = torch.unique(torch.cat([entities, index.tails[positions]]))
        column_of = torch.full((E,), -1, dtype=torch.long, device=items.device)
        column_of[cols] = torch.arange(cols.shape[0], device=items.device)
        return cls(index, items, entities, starts, counts, cols, column_of, column_of[entities])

    @property
    def num_rows(self) -> int:
        return int(self.items.shape[0])

    @property
    def num_columns(self) -> int:
        return int(self.columns.shape[0])

    def dense(self, rows: Tensor) -> Tensor:
        """x_0 of the rows ``rows`` (indices into ``0..num_rows-1``), densified. ``(B, C)``."""
        positions, seg = segments(self.starts[rows], self.counts[rows])
        out = torch.zeros(rows.shape[0], self.num_columns, device=rows.device)
        out[seg, self.column_of[self.index.tails[positions]]] = 1.0
        return out


class RowDiffusion:
    """DiffKG's generator: the denoiser over item rows, its schedule and its own Adam."""

    def __init__(self, rows: ItemRows, config: DiffKGConfig, device: torch.device):
        self.rows = rows
        self.config = config
        self.diffusion = GaussianDiffusion(DiffusionConfig(
            steps=config.steps, noise_scale=config.noise_scale, noise_min=config.noise_min,
            noise_max=config.noise_max, sampling_steps=config.sampling_steps)).to(device)
        self.denoiser = Denoiser(rows.num_columns, hidden=config.dims, time_dim=config.d_emb_size,
                                 normalize_input=config.norm).to(device)
        self.optimizer = torch.optim.Adam(self.denoiser.parameters(), lr=config.lr)
        # The reference averages the MSE over all E columns; restricted rows are zero in every
        # column left out, so rescale to keep the ELBO : CKGC balance of e_loss.
        self.mse_scale = rows.num_columns / rows.index.num_entities

    def train_epoch(self, item_signal: Tensor | None, targets: Tensor,
                    generator: torch.Generator) -> dict[str, float]:
        """One pass over the rows in random order.

        ``item_signal`` ``(n, d)``: ``R^T E_user`` for each row's item (users detached), or
        None to train on the ELBO alone; ``targets`` ``(n, d)``: each row's entity embedding
        (detached). CKGC regresses ``x_hat[:, item columns] @ item_signal`` onto ``targets``,
        which is the reference's ``(x_hat R^T) E_user`` computed in the cheaper order.
        """
        cfg = self.config
        self.denoiser.train()
        n = self.rows.num_rows
        # The batch sets the number of denoiser steps, so one that does not fit is refused
        # (naming the setting) rather than shrunk.
        batch = fit_batch_size(n, self.denoiser.row_bytes(training=True), cfg.batch,
                               device=targets.device, setting="diffkg.batch", shrink=False)
        order = torch.randperm(n, generator=generator).to(targets.device)
        sums = {"elbo": 0.0, "ckgc": 0.0}
        batches = 0
        for start in range(0, n, batch):
            rows = order[start:start + batch]
            elbo, x0_hat = self.diffusion.training_loss(self.denoiser, self.rows.dense(rows))
            elbo = elbo.mean() * self.mse_scale
            loss = elbo
            if item_signal is not None:
                pred = x0_hat[:, self.rows.item_columns] @ item_signal
                ckgc = (pred - targets[rows]).pow(2).mean()
                loss = (1 - cfg.e_loss) * elbo + cfg.e_loss * ckgc
                sums["ckgc"] += float(ckgc.detach())
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            sums["elbo"] += float(elbo.detach())
            batches += 1
        if item_signal is None:
            del sums["ckgc"]
        return {name: total / max(batches, 1) for name, total in sums.items()}

    @torch.no_grad()
    def top_k(self, k: int) -> tuple[Tensor, Tensor]:
        """Denoise every row and return its ``k`` best (head entity, tail entity) pairs."""
        self.denoiser.eval()
        k = min(k, self.rows.num_columns)
        device = self.rows.items.device
        # Rows are denoised independently, so smaller blocks give the same pairs (with
        # sampling noise on, pairs from the same distribution).
        batch = fit_batch_size(self.rows.num_rows, self.denoiser.row_bytes(training=False),
                               self.config.batch, device=device, setting="diffkg.batch")
        heads, tails = [], []
        for start in range(0, self.rows.num_rows, batch):
            rows = torch.arange(start, min(start + batch, self.rows.num_rows), device=device)
            x_hat = self.diffusion.sample(self.denoiser, self.rows.dense(rows))
            best = torch.topk(x_hat, k, dim=1).indices
            heads.append(self.rows.entities[rows].repeat_interleave(k))
            tails.append(self.rows.columns[best].reshape(-1))
        return torch.cat(heads), torch.cat(tails)
