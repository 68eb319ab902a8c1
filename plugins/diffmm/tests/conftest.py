"""Builds a DiffMM augmenter around a backbone on tiny data, the way ``run_experiment`` does."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from kgrec import Context, Setup, select_ops
from kgrec.config import build
from kgrec.registry import load
from kgrec.testing import tiny_data


@dataclass
class Built:
    data: object
    model: object
    aug: object
    ctx: Context

    def forward(self):
        """One step's path: transform -> encode -> refine; returns (embeddings, view)."""
        view = self.aug.transform(self.model.view(), self.ctx)
        return self.aug.refine(self.model.encode(view), self.ctx), view


def build_diffmm(data=None, backend="torch", recommender="lightgcn", seed=0, **options) -> Built:
    data = data if data is not None else tiny_data()
    device = torch.device("cpu")
    ops = select_ops(backend, device).ops
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    setup = Setup(data=data, ops=ops, device=device, seed=seed,
                  train_users=torch.as_tensor(data.train.users),
                  train_items=torch.as_tensor(data.train.items))
    rec_cls, aug_cls = load("recommender", recommender), load("augmenter", "diffmm")
    model = rec_cls(build(rec_cls.Config, {}, recommender), setup)
    aug = aug_cls(build(aug_cls.Config, options, "diffmm"), setup)
    aug.bind(model)
    ctx = Context(epoch=1, device=device, ops=ops, generator=generator, training=True,
                  encode=model.encode, base_view=model.view)
    return Built(data, model, aug, ctx)


@pytest.fixture
def make():
    return build_diffmm
