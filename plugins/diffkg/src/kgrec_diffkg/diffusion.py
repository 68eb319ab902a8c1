"""Which rows DiffKG diffuses, over which columns, and its objective: ELBO + CKGC.

x_0 for an item is its row of the KG adjacency (inverse edges included), binary, over the
chosen entity columns. The diffusion itself (batches, denoiser, reverse chain, top-k) is the
core's :class:`kgrec.diffusion.RowDiffusion`; this module says what goes in and what DiffKG
adds to the loss.

Reference code: ``GaussianDiffusion.training_losses`` and ``Coach.trainEpoch`` in
HKUDS/DiffKG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping

import torch
from torch import Tensor

from kgrec.diffusion import SparseRows
from kgrec_diffkg.kg import KGIndex, segments


@dataclass(frozen=True)
class ItemRows:
    """The diffused rows: one per item linked to an entity, over ``columns`` of the KG.

    Shapes: items, entities, item_columns ``(n,)``; columns ``(C,)`` (entity id of each
    column, ascending). ``item_columns[j]`` is the column of row ``j``'s own entity (what
    CKGC reads); ``matrix`` holds the rows themselves.
    """

    items: Tensor
    entities: Tensor
    columns: Tensor
    item_columns: Tensor
    matrix: SparseRows

    @classmethod
    def build(cls, index: KGIndex, item_entity: Tensor,
              columns: Literal["neighbourhood", "all"]) -> "ItemRows":
        items = torch.nonzero(item_entity >= 0).view(-1)
        entities = item_entity[items]
        starts, counts = index.spans(entities)
        positions, row = segments(starts, counts)
        tails = index.tails[positions]
        E = index.num_entities
        if columns == "all":
            cols = torch.arange(E, device=items.device)
        else:
            cols = torch.unique(torch.cat([entities, tails]))
        column_of = torch.full((E,), -1, dtype=torch.long, device=items.device)
        column_of[cols] = torch.arange(cols.shape[0], device=items.device)
        matrix = SparseRows(row, column_of[tails], int(items.shape[0]), int(cols.shape[0]))
        return cls(items, entities, cols, column_of[entities], matrix)

    @property
    def num_rows(self) -> int:
        return self.matrix.num_rows

    @property
    def num_columns(self) -> int:
        return self.matrix.num_columns

    def dense(self, rows: Tensor) -> Tensor:
        """x_0 of the rows ``rows`` (indices into ``0..num_rows-1``), densified. ``(B, C)``."""
        return self.matrix.dense(rows)


def objective(rows: ItemRows, item_signal: Tensor | None, targets: Tensor, e_loss: float,
              mse_scale: float):
    """DiffKG's denoiser loss for :meth:`kgrec.diffusion.RowDiffusion.train_epoch`.

    ``(1 - e_loss) * ELBO + e_loss * CKGC``; CKGC regresses ``x_hat[:, item columns] @
    item_signal`` onto ``targets``, which is the reference's ``(x_hat R^T) E_user`` computed
    in the cheaper order. ``item_signal`` ``(n, d)``: ``R^T E_user`` for each row's item
    (users detached), or None to train on the ELBO alone; ``targets`` ``(n, d)``: each row's
    entity embedding (detached). The reference averages the MSE over all E columns; rows
    restricted to fewer columns are zero in every column left out, so ``mse_scale``
    (columns / E) keeps the ELBO : CKGC balance of ``e_loss``.
    """

    def loss(batch: Tensor, x0: Tensor, diffusion: Mapping[str, Tensor],
             x0_hat: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        elbo = diffusion["rows"] * mse_scale
        if item_signal is None:
            return elbo, {"elbo": elbo}
        pred = x0_hat["rows"][:, rows.item_columns] @ item_signal
        ckgc = (pred - targets[batch]).pow(2).mean()
        return (1 - e_loss) * elbo + e_loss * ckgc, {"elbo": elbo, "ckgc": ckgc}

    return loss
