"""Per-modality projection of raw item features to the embedding size.

Reference code: ``Model.getImageFeats`` / ``getTextFeats`` / ``getAudioFeats`` in
``HKUDS/DiffMM``: ``trans = 1`` is an ``nn.Linear``; ``trans = 0`` is a bias-free matrix
(Xavier-uniform) followed by LeakyReLU(0.2).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ModalityProjection(nn.Module):
    """Projects one modality's raw features ``(I, f)`` to ``(I, d)``.

    The raw features are a non-persistent buffer: they are data, reloaded with the dataset,
    so they do not bloat every checkpoint.
    """

    def __init__(self, features: Tensor, dim: int, trans: int):
        super().__init__()
        self.trans = trans
        self.register_buffer("features", features, persistent=False)
        if trans == 1:
            self.linear = nn.Linear(features.shape[1], dim, device=features.device)
        else:
            self.weight = nn.Parameter(nn.init.xavier_uniform_(
                torch.empty(features.shape[1], dim, device=features.device)))

    def forward(self) -> Tensor:
        if self.trans == 1:
            return self.linear(self.features)
        return F.leaky_relu(self.features @ self.weight, negative_slope=0.2)


class Modalities(nn.Module):
    """One projection per modality, in the data's order, plus the learnable fusion weights.

    Modality names come from the data (``RecData.modalities``); any number of them works.
    """

    def __init__(self, modalities: Mapping[str, np.ndarray], dim: int, trans: int,
                 device: torch.device):
        super().__init__()
        if not modalities:
            raise ValueError("DiffMM needs at least one modality")
        self.names = list(modalities)
        self.projections = nn.ModuleDict({
            name: ModalityProjection(torch.as_tensor(np.asarray(matrix, dtype=np.float32),
                                                     device=device), dim, trans)
            for name, matrix in modalities.items()})
        # the reference starts from equal weights (0.5, 0.5 / 0.3333 x 3) before the softmax
        count = len(self.names)
        self.modal_weight = nn.Parameter(torch.full((count,), 1.0 / count, device=device))

    def __len__(self) -> int:
        return len(self.names)

    def project(self, name: str) -> Tensor:
        """Projected features of modality ``name``. Shapes: ``(I, d)``."""
        return self.projections[name]()

    def weights(self) -> Tensor:
        """Softmax-normalised fusion weights, one per modality."""
        return torch.softmax(self.modal_weight, dim=0)
