"""Time one LightGCN training epoch and one full-ranking evaluation, per backend and device.

On CUDA one untimed epoch and evaluation run first (warm-up); on the CPU the first is timed.

Datasets: Last.FM HetRec interactions (../shared/data/lastfm-hetrec, when present) and a
synthetic set with 100k users and ~1M interactions. Prints a Markdown table; copy it into
docs/benchmarks.md with the machine it ran on.

    python bench/lightgcn_epoch.py [--datasets lastfm,synthetic-1m] [--backends torch,dgl]
        [--devices cpu,cuda] [--data-root ../shared/data]
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
from pathlib import Path

import torch

from kgrec import registry
from kgrec.config import SplitConfig, resolve_run_config
from kgrec.data import load_dataset
from kgrec.data.synthetic import SyntheticConfig, make_synthetic
from kgrec.graph.ops import dgl_unavailable_reason, select_ops
from kgrec.interfaces import Setup
from kgrec.train.seeding import seed_everything
from kgrec.train.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]


def datasets(names: list[str], data_root: Path):
    for name in names:
        if name == "lastfm":
            path = data_root / "lastfm-hetrec"
            if path.is_dir():
                yield name, load_dataset(str(path), "auto", SplitConfig())
            else:
                print(f"# skipping lastfm: {path} absent")
        elif name == "synthetic-1m":
            yield name, make_synthetic(SyntheticConfig(num_users=100_000, num_items=20_000,
                                                       num_clusters=64, interactions_per_user=10.0,
                                                       seed=0))
        else:
            raise SystemExit(f"unknown dataset {name}")


def time_one(data, backend: str, device: torch.device) -> tuple[float, float, int]:
    raw = {"recommender": "lightgcn", "augmenter": "none",
           "train": {"backend": backend, "device": device.type, "epochs": 1}}
    cfg = resolve_run_config(raw, registry.load("recommender", "lightgcn"),
                             registry.load("augmenter", "none"))
    choice = select_ops(backend, device)
    gen = seed_everything(0)
    setup = Setup(data, choice.ops, device, 0, torch.as_tensor(data.train.users, device=device),
                  torch.as_tensor(data.train.items, device=device), 64)
    model = registry.load("recommender", "lightgcn")(cfg.recommender_config, setup).to(device)
    aug = registry.load("augmenter", "none")(cfg.augmenter_config, setup).to(device)
    trainer = Trainer(model, aug, data, choice.ops, device, cfg.train, cfg.eval, gen,
                      Path("/tmp/kgrec-bench-best.pt"), progress=False)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    epoch = 1
    if device.type == "cuda":  # keep CUDA context, cuSPARSE handles and the allocator's growth out
        trainer.train_epoch(epoch)
        trainer.evaluate("valid", epoch)
        epoch += 1
    sync()
    start = time.perf_counter()
    trainer.train_epoch(epoch)
    sync()
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    trainer.evaluate("valid", epoch)
    sync()
    eval_s = time.perf_counter() - start
    return train_s, eval_s, trainer.sampler.num_batches(cfg.train.batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="lastfm,synthetic-1m")
    parser.add_argument("--backends", default="torch,dgl")
    parser.add_argument("--devices", default=None,
                        help="comma-separated; default: cpu, plus cuda when available")
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data",
                        help="folder holding lastfm-hetrec/")
    args = parser.parse_args()
    devices = ([torch.device(d) for d in args.devices.split(",")] if args.devices else
               [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else []))
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}"
          + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"))
    print("| dataset | users | items | train interactions | backend | device | batches | "
          "epoch (s) | full eval (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, data in datasets(args.datasets.split(","), args.data_root):
        for device in devices:
            for backend in args.backends.split(","):
                if backend == "dgl" and (reason := dgl_unavailable_reason(device)):
                    print(f"| {name} | | | | dgl | {device.type} | | n/a | {reason[:60]} |")
                    continue
                train_s, eval_s, batches = time_one(data, backend, device)
                print(f"| {name} | {data.num_users} | {data.num_items} | {len(data.train)} | "
                      f"{backend} | {device.type} | {batches} | {train_s:.2f} | {eval_s:.2f} |",
                      flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
