"""Time one LightGCN training epoch and one full-ranking evaluation, per backend and device.

Each measurement is a :func:`kgrec.run` of LightGCN; its history times every epoch's training
and validation (full ranking). On CUDA the first epoch is a warm-up and the second is
reported; on the CPU the first is.

Datasets: Last.FM HetRec interactions (../shared/data/lastfm-hetrec, when present) and a
synthetic set with 100k users and ~1M interactions. Prints a Markdown table; copy it into
docs/benchmarks.md with the machine it ran on.

    python bench/lightgcn_epoch.py [--datasets lastfm,synthetic-1m] [--backends torch,dgl]
        [--devices cpu,cuda] [--data-root ../shared/data]
"""

from __future__ import annotations

import argparse
import math
import platform
import resource
import tempfile
from pathlib import Path

import torch

import kgrec
from kgrec.config import SplitConfig
from kgrec.data import load_dataset
from kgrec.data.synthetic import SyntheticConfig, make_synthetic
from kgrec.graph.ops import dgl_unavailable_reason

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
    """(training seconds, full-evaluation seconds, batches) of one LightGCN epoch."""
    epochs = 2 if device.type == "cuda" else 1  # keep CUDA start-up costs out of the figure
    config = {"recommender": "lightgcn", "augmenter": "none",
              "train": {"backend": backend, "device": device.type, "epochs": epochs, "seed": 0}}
    with tempfile.TemporaryDirectory() as tmp:
        result = kgrec.run(config, data=data, out=Path(tmp) / "run", progress=False, log=None)
    last = result.history[-1]
    batches = math.ceil(len(data.train) / result.config.train.batch_size)
    return last["train_seconds"], last["eval_seconds"], batches


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
