"""Which rows DiffKG diffuses, over which columns, and its objective: ELBO + CKGC.

x_0 of a row is an entity's row of the KG adjacency (inverse edges included), binary, over
the chosen entity columns; the rows are the items' entities or every entity. The diffusion itself (batches, denoiser, reverse chain, top-k) is the
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
class KGRows:
    """The diffused rows of the KG adjacency (inverse edges included), over chosen columns.

    ``rows="items"``: one row per item linked to an entity; ``rows="entities"``: every
    entity's row, as the reference diffuses the whole E x E adjacency. Columns are every
    entity (``"all"``, the reference's) or only those a row can have a one in
    (``"neighbourhood"``: the rows' entities and their KG neighbours, exact for the rebuild).

    Shapes: row_entities ``(n,)`` (entity of each row); columns ``(C,)`` (entity of each
    column, ascending); items, item_columns ``(I',)``: the items linked to an entity and the
    column of each one's entity, what CKGC reads (``x_hat[:, item_columns] @ signal[items]``).
    """

    row_entities: Tensor
    columns: Tensor
    items: Tensor
    item_columns: Tensor
    matrix: SparseRows

    @classmethod
    def build(cls, index: KGIndex, item_entity: Tensor, rows: Literal["items", "entities"],
              columns: Literal["neighbourhood", "all"]) -> "KGRows":
        device = item_entity.device
        E = index.num_entities
        items = torch.nonzero(item_entity >= 0).view(-1)
        item_entities = item_entity[items]
        row_entities = item_entities if rows == "items" else torch.arange(E, device=device)
        starts, counts = index.spans(row_entities)
        positions, row = segments(starts, counts)
        tails = index.tails[positions]
        if columns == "all":
            cols = torch.arange(E, device=device)
        else:
            cols = torch.unique(torch.cat([row_entities, item_entities, tails]))
        column_of = torch.full((E,), -1, dtype=torch.long, device=device)
        column_of[cols] = torch.arange(cols.shape[0], device=device)
        matrix = SparseRows(row, column_of[tails], int(row_entities.shape[0]), int(cols.shape[0]))
        return cls(row_entities, cols, items, column_of[item_entities], matrix)

    @property
    def num_rows(self) -> int:
        return self.matrix.num_rows

    @property
    def num_columns(self) -> int:
        return self.matrix.num_columns

    def dense(self, rows: Tensor) -> Tensor:
        """x_0 of the rows ``rows`` (indices into ``0..num_rows-1``), densified. ``(B, C)``."""
        return self.matrix.dense(rows)


def objective(rows: KGRows, item_signal: Tensor | None, targets: Tensor, e_loss: float,
              mse_scale: float):
    """DiffKG's denoiser loss for :meth:`kgrec.diffusion.RowDiffusion.train_epoch`.

    ``(1 - e_loss) * ELBO + e_loss * CKGC``; CKGC regresses ``x_hat[:, item columns] @
    item_signal`` onto ``targets``, which is the reference's ``(x_hat R^T) E_user`` computed
    in the cheaper order. ``item_signal`` ``(I', d)``: ``R^T E_user`` for each of
    ``rows.items`` (users detached), or None to train on the ELBO alone; ``targets``
    ``(n, d)``: each row's entity embedding (detached). The reference averages the MSE over all E columns; rows
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
