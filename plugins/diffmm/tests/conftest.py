"""Builds a DiffMM augmenter around a backbone on tiny data, the way a run does."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from kgrec import Context
from kgrec.testing import forward, tiny_augmenter, tiny_context, tiny_data, tiny_model, tiny_setup


@dataclass
class Built:
    data: object
    model: object
    aug: object
    ctx: Context

    def forward(self):
        """One step's path: transform -> encode -> refine; returns (embeddings, view)."""
        emb = forward(self.model, self.aug, self.ctx)
        return emb, self.ctx.view


def build_diffmm(data=None, backend="torch", recommender="lightgcn", seed=0, **options) -> Built:
    """``options`` are DiffMM config fields (``diffusion={"batch_size": 32}`` for nested ones)."""
    data = data if data is not None else tiny_data()
    setup = tiny_setup(data, dim=64, backend=backend, seed=seed)
    model = tiny_model(recommender, setup)
    aug = tiny_augmenter("diffmm", model, **options)
    return Built(data, model, aug, tiny_context(model, seed=seed))


@pytest.fixture
def make():
    return build_diffmm
