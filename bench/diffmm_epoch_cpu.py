"""CPU seconds of the parts of one DiffMM epoch on TikTok (process time, one thread).

Wall time on a shared machine says more about the neighbours than about DiffMM, so this
times each part with ``time.process_time``: the denoisers' training pass, the rebuild (reverse
chain over every user + top-k + graph), and one BPR step with and without the contrast,
against a plain LightGCN step.

    nice python bench/diffmm_epoch_cpu.py [--dataset ../shared/data/tiktok] [--backend torch]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import kgrec
from kgrec.data import load_dataset
from kgrec.experiment import build_components
from kgrec.testing import forward, tiny_context
from kgrec.train.sampler import BPRSampler

REPO = Path(__file__).resolve().parents[1]


def cpu(label: str, fn, repeat: int = 1) -> float:
    start = time.process_time()
    for _ in range(repeat):
        fn()
    seconds = (time.process_time() - start) / repeat
    print(f"{label:<40} {seconds:8.2f} CPU s", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=str(REPO.parent / "shared" / "data" / "tiktok"))
    parser.add_argument("--backend", default="torch")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_dataset(args.dataset)
    config = kgrec.resolve_config({"augmenter": "diffmm", "recommender": "lightgcn",
                                   "preset": "tiktok", "train": {"backend": args.backend,
                                                                 "device": "cpu", "seed": 1}})
    parts = build_components(config, data)  # exactly as a run builds them
    model, aug = parts.model, parts.augmenter
    setup, generator = model.setup_info, parts.generator
    with torch.no_grad():
        features = {name: aug.modalities.project(name) for name in aug.names}
    items = model.view().items.detach()
    cfg = config.augmenter_config
    from kgrec_diffmm.generator import objective

    fit = cpu("denoisers: one pass over all users", lambda: aug.denoising.train_epoch(
        aug.rows, generator, objective(features, items, cfg.e_loss)))
    rebuild = cpu("rebuild: reverse chain, top-k, graphs", lambda: aug.rebuild(generator))
    sampler = BPRSampler(setup.train_users, setup.train_items, data.num_items)
    batch = next(iter(sampler.epoch(config.train.batch_size, generator)))
    params = list(model.parameters()) + list(aug.modalities.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3)

    def step(augmented: bool = True, contrast: bool = True) -> None:
        ctx = tiny_context(model, seed=1, batch=batch)
        emb = forward(model, aug, ctx) if augmented else model.encode(ctx.base)
        view = ctx.view if augmented else ctx.base
        loss = sum(model.loss(emb, batch, view).values())
        if augmented and contrast:
            loss = loss + sum(aug.loss(emb, batch, ctx).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    full = cpu("BPR step: DiffMM (fused input + contrast)", step, repeat=5)
    cpu("BPR step: DiffMM without contrast", lambda: step(contrast=False), repeat=5)
    base = cpu("BPR step: LightGCN alone", lambda: step(augmented=False), repeat=5)
    steps = sampler.num_batches(config.train.batch_size)
    print(f"epoch estimate: DiffMM {fit + rebuild + steps * full:.0f} CPU s "
          f"(no diffusion {steps * full:.0f}), LightGCN {steps * base:.1f} CPU s, {steps} steps")


if __name__ == "__main__":
    main()
