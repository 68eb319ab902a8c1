"""Row diffusion: Gaussian diffusion over the rows of a sparse 0/1 matrix.

DiffKG diffuses rows of the knowledge graph's adjacency, DiffMM users' rows of the
interaction matrix (one denoiser per modality); both are this. ``x_0`` of a row is the row
itself, densified only for the batch in hand (:class:`SparseRows`), so memory is
``batch x width``, never ``rows x width``. :class:`RowDiffusion` owns the schedule, one
denoiser per channel and their Adam, and does the three things every row-diffusion model
needs: a training pass over all rows in memory-bounded batches (with a plugin's own loss
terms on top of the diffusion loss), the reverse chain, and each row's top-k columns.

Reference code: ``GaussianDiffusion`` and ``Coach.trainEpoch`` in HKUDS/DiffKG and
HKUDS/DiffMM, which this replaces for both.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from kgrec.diffusion.config import DiffusionConfig
from kgrec.diffusion.gaussian import GaussianDiffusion
from kgrec.memory import fit_batch_size


class SparseRows:
    """A binary ``num_rows x num_columns`` matrix in CSR form; :meth:`dense` gives a batch of rows.

    Built from ``(row, column)`` pairs; a pair given twice is one entry.
    Shapes: rows, columns ``(nnz,)``; ``dense`` ``(B,) -> (B, num_columns)``.
    """

    def __init__(self, rows: Tensor, columns: Tensor, num_rows: int, num_columns: int):
        if rows.shape != columns.shape or rows.dim() != 1:
            raise ValueError("rows and columns must be 1-d tensors of equal length")
        order = torch.argsort(rows * num_columns + columns)
        rows, columns = rows[order], columns[order]
        counts = torch.bincount(rows, minlength=num_rows)
        self.indptr = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])
        self.indices = columns
        self.num_rows = int(num_rows)
        self.num_columns = int(num_columns)

    @property
    def device(self) -> torch.device:
        return self.indices.device

    def dense(self, rows: Tensor) -> Tensor:
        """The rows ``rows`` as 0/1 float32, ``(B, num_columns)``: the only dense piece there is."""
        starts = self.indptr[rows]
        counts = self.indptr[rows + 1] - starts
        out = torch.zeros(rows.shape[0], self.num_columns, device=self.device)
        total = int(counts.sum())
        if total == 0:
            return out
        row = torch.repeat_interleave(torch.arange(rows.shape[0], device=self.device), counts)
        first = torch.cumsum(counts, 0) - counts  # where each batch row's run starts in `row`
        position = torch.arange(total, device=self.device) - first[row] + starts[row]
        out[row, self.indices[position]] = 1.0
        return out


Objective = Callable[[Tensor, Tensor, Mapping[str, Tensor], Mapping[str, Tensor]],
                     tuple[Tensor, Mapping[str, Tensor]]]
"""``objective(rows, x0, diffusion_loss, x0_hat) -> (loss, logged)`` for one batch: ``rows``
``(B,)`` the batch's row ids, ``x0`` ``(B, C)``, and per channel the mean reweighted
diffusion loss (a scalar) and the predicted ``x_0`` ``(B, C)``. ``logged`` holds scalars to
average over the epoch under their names."""


class RowDiffusion(nn.Module):
    """The schedule, one denoiser per channel (``width -> hidden -> width``) and their Adam.

    ``owner`` names the config section in error messages (``diffkg.diffusion``). Adam keeps
    state per parameter, so one Adam over every channel's denoiser equals one Adam each
    stepped on the summed loss (DiffMM's reference). Create it, move the owning module to
    its device, and train; the Adam is in :attr:`optimizer` for the owner to declare.
    """

    def __init__(self, config: DiffusionConfig, width: int, channels: Sequence[str] = ("rows",),
                 owner: str = "diffusion"):
        super().__init__()
        self.config = config
        self.channels = tuple(channels)
        self.owner = owner
        self.diffusion = GaussianDiffusion(config)
        self.denoisers = nn.ModuleDict({name: config.denoiser(width) for name in self.channels})
        self.optimizer = torch.optim.Adam(self.denoisers.parameters(), lr=config.lr)

    def _autocast(self, device: torch.device):
        """The denoiser's matmuls in bfloat16 when ``config.precision`` asks for it."""
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                              enabled=self.config.precision == "bfloat16")

    def _batch(self, source: SparseRows, training: bool) -> int:
        """Rows per block: ``config.batch_size`` if it fits the free memory.

        Training keeps every channel's graph alive until the summed backward, and the batch
        sets the number of Adam steps, so a batch that does not fit is refused (naming the
        setting), not shrunk. The reverse chain runs one channel at a time and gives the same
        rows in smaller blocks, so there the batch quietly shrinks to fit.
        """
        costs = [d.row_bytes(training=training) for d in self.denoisers.values()]
        return fit_batch_size(source.num_rows, sum(costs) if training else max(costs),
                              self.config.batch_size, device=source.device,
                              setting=f"{self.owner}.batch_size", shrink=not training)

    def train_epoch(self, source: SparseRows, generator: torch.Generator,
                    objective: Objective | None = None) -> dict[str, float]:
        """One pass over every row of ``source`` in a random order; one Adam step per batch.

        Without ``objective`` the loss is the sum over channels of the diffusion loss, logged
        as ``diffusion`` (one channel) or ``diffusion_<channel>``. Returns epoch means.
        """
        self.denoisers.train()
        batch = self._batch(source, training=True)
        order = torch.randperm(source.num_rows, generator=generator).to(source.device)
        sums: dict[str, float] = {}
        batches = 0
        for start in range(0, source.num_rows, batch):  # a loop over batches, not rows
            rows = order[start:start + batch]
            x0 = source.dense(rows)
            losses, predictions = {}, {}
            for name in self.channels:
                with self._autocast(x0.device):
                    per_row, predicted = self.diffusion.training_loss(self.denoisers[name], x0)
                predictions[name] = predicted.float()
                losses[name] = per_row.float().mean()
            if objective is None:
                loss, logged = self._default_objective(losses)
            else:
                loss, logged = objective(rows, x0, losses, predictions)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            for key, value in logged.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
            batches += 1
        return {key: total / max(batches, 1) for key, total in sums.items()}

    def _default_objective(self, losses: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        total = sum(losses.values())
        if len(self.channels) == 1:
            return total, {"diffusion": total}
        return total, {f"diffusion_{name}": value for name, value in losses.items()}

    @torch.no_grad()
    def reverse(self, x0: Tensor, channel: str | None = None,
                generator: torch.Generator | None = None) -> Tensor:
        """The reverse chain from ``x0`` through ``channel``'s denoiser (the only one if None),
        deterministic unless ``config.sampling_noise``. Shapes: ``(B, C) -> (B, C)``."""
        denoiser = self.denoisers[channel if channel is not None else self.channels[0]]
        if self.config.precision == "float32":
            return self.diffusion.sample(denoiser, x0, generator=generator)

        def low_precision(x_t: Tensor, t: Tensor) -> Tensor:
            with self._autocast(x_t.device):
                return denoiser(x_t, t).float()

        return self.diffusion.sample(low_precision, x0, generator=generator)

    @torch.no_grad()
    def top_k(self, source: SparseRows, k: int,
              generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Denoise every row (denoisers in eval mode: no input dropout) and return, per
        channel, the ``k`` best columns of each row, ``(num_rows, k)``."""
        was_training = self.denoisers.training
        self.denoisers.eval()
        k = min(k, source.num_columns)
        batch = self._batch(source, training=False)
        found: dict[str, list[Tensor]] = {name: [] for name in self.channels}
        for start in range(0, source.num_rows, batch):
            rows = torch.arange(start, min(start + batch, source.num_rows), device=source.device)
            x0 = source.dense(rows)
            for name in self.channels:
                denoised = self.reverse(x0, name, generator)
                found[name].append(torch.topk(denoised, k, dim=1).indices)
        self.denoisers.train(was_training)
        return {name: torch.cat(parts) for name, parts in found.items()}
