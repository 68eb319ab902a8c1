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

from kgrec import Context, Setup, registry, select_ops
from kgrec.config import resolve_run_config
from kgrec.data import load_dataset
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
    config = resolve_run_config({"augmenter": "diffmm", "recommender": "lightgcn", "preset": "tiktok"},
                                registry.load("recommender", "lightgcn"), registry.load("augmenter", "diffmm"))
    device = torch.device("cpu")
    ops = select_ops(args.backend, device).ops
    torch.manual_seed(1)
    generator = torch.Generator().manual_seed(1)
    setup = Setup(data=data, ops=ops, device=device, seed=1,
                  train_users=torch.as_tensor(data.train.users), train_items=torch.as_tensor(data.train.items))
    model = registry.load("recommender", "lightgcn")(config.recommender_config, setup)
    aug = registry.load("augmenter", "diffmm")(config.augmenter_config, setup)
    aug.bind(model)
    ctx = Context(epoch=1, device=device, ops=ops, generator=generator, training=True,
                  encode=model.encode, base_view=model.view)
    with torch.no_grad():
        features = {name: aug.modalities.project(name) for name in aug.names}
    items = model.view().items.detach()
    cfg = config.augmenter_config
    fit = cpu("denoisers: one pass over all users", lambda: aug.denoising.train_epoch(
        aug.rows, features, items, cfg.e_loss, cfg.batch_size, generator))
    rebuild = cpu("rebuild: reverse chain, top-k, graphs", lambda: aug.denoising.rebuild(
        aug.rows, cfg.rebuild_k, cfg.keep_rate, cfg.batch_size, generator))
    sampler = BPRSampler(setup.train_users, setup.train_items, data.num_items)
    batch = next(iter(sampler.epoch(config.train.batch_size, generator)))
    params = list(model.parameters()) + list(aug.modalities.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3)

    def step(augmented: bool = True, contrast: bool = True) -> None:
        view = model.view()
        view = aug.transform(view, ctx) if augmented else view
        emb = model.encode(view)
        emb = aug.refine(emb, ctx) if augmented else emb
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
