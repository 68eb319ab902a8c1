"""DiffMM's denoiser objective: diffusion loss plus the modality-aware alignment.

Reference code: ``Coach.trainEpoch`` and ``GaussianDiffusion.training_losses`` in
``HKUDS/DiffMM``. ``x_0`` is a user's row of R (length I), one denoiser per modality (the
core's :class:`kgrec.diffusion.RowDiffusion` with one channel per modality). Each denoiser's
loss is the reweighted diffusion MSE plus ``e_loss`` times the alignment

.. math:: \\lVert \\hat x_0 F_m - x_0 E_{item} \\rVert^2 / d

with the projected features ``F_m`` and item id embeddings ``E_item`` detached, so the
alignment moves only the denoiser.
"""

from __future__ import annotations

from typing import Mapping

from torch import Tensor


def objective(features: Mapping[str, Tensor], item_emb: Tensor, e_loss: float):
    """The summed per-modality loss for :meth:`~kgrec.diffusion.RowDiffusion.train_epoch`.

    ``features[m]`` ``(I, d)`` and ``item_emb`` ``(I, d)`` must already be detached. Logs
    ``diffusion_<m>`` and, with ``e_loss > 0``, ``align_<m>`` per modality.
    """

    def loss(rows: Tensor, x0: Tensor, diffusion: Mapping[str, Tensor],
             x0_hat: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        target = x0 @ item_emb if e_loss > 0 else None
        total = x0.new_zeros(())
        logged: dict[str, Tensor] = {}
        for name, value in diffusion.items():
            logged[f"diffusion_{name}"] = value
            if target is not None:
                align = (x0_hat[name] @ features[name] - target).pow(2).mean(dim=1).mean()
                value = value + e_loss * align
                logged[f"align_{name}"] = align
            total = total + value
        return total, logged

    return loss
