"""DiffKG at a scale the reference cannot run on a CPU: peak memory and epoch time.

Builds, in memory, a synthetic dataset with 18,000 users, 12,000 items, 80,000 entities and
150,000 KG triples (120,000 item -> attribute, 30,000 attribute -> attribute; attribute
popularity is Zipf-like, so items reach only part of the entities), then trains
``diffkg+lightgcn`` for a couple of epochs through :func:`kgrec.run` and
reports peak RSS (``resource.getrusage``) and the split of an epoch into the denoiser phase
(``fit_epoch``: training on ELBO + CKGC, then the rebuild) and the BPR batches. Each
configuration runs in its own process, so each peak is its own.

The reference would need a dense 80,000 x 80,000 float32 KG matrix (25.6 GB) before training.

    OMP_NUM_THREADS=1 nice python bench/diffkg_scale.py [--epochs 2] [--configs neighbourhood,all]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = dict(users=18_000, items=12_000, entities=80_000, triples=150_000, relations=20,
             interactions_per_user=25)
CONFIGS = {
    "neighbourhood": ["diffkg.columns=neighbourhood"],
    "all": ["diffkg.columns=all"],
    "all, batch 256": ["diffkg.columns=all", "diffkg.diffusion.batch_size=256"],
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def make_data(seed: int = 0):
    """The synthetic RecData (numpy only, vectorised)."""
    from kgrec import Interactions, KnowledgeGraph, RecData
    from kgrec.data.split import split_per_user

    rng = np.random.default_rng(seed)
    U, I, E, T = SIZES["users"], SIZES["items"], SIZES["entities"], SIZES["triples"]
    # interactions: Zipf item popularity, ~25 per user
    counts = 5 + rng.poisson(SIZES["interactions_per_user"] - 5, U)
    popularity = 1.0 / np.arange(1, I + 1) ** 0.8
    users = np.repeat(np.arange(U), counts)
    items = rng.choice(I, size=len(users), p=popularity / popularity.sum())
    keys = np.unique(users * I + items)
    users, items = keys // I, keys % I
    train, valid, test, info = split_per_user(users, items, U, 0.1, 0.1, seed)
    # KG: items -> attributes (Zipf over attributes), attributes -> attributes
    A = E - I
    attr_pop = 1.0 / np.arange(1, A + 1) ** 1.0
    attr_pop /= attr_pop.sum()
    n_item = int(T * 0.8)
    heads = np.concatenate([rng.integers(0, I, n_item), I + rng.integers(0, A, T - n_item)])
    tails = I + np.concatenate([rng.choice(A, size=n_item, p=attr_pop), rng.integers(0, A, T - n_item)])
    relations = rng.integers(0, SIZES["relations"], T)
    triples = np.unique(np.stack([heads, relations, tails], 1), axis=0)
    kg = KnowledgeGraph(triples[:, 0], triples[:, 1], triples[:, 2], num_entities=E,
                        num_relations=SIZES["relations"], item_entity=np.arange(I))
    return RecData(name="diffkg-scale", num_users=U, num_items=I, train=train, valid=valid, test=test,
                   kg=kg, split=info, source="bench/diffkg_scale.py")


def run_one(label: str, epochs: int, backend: str) -> dict:
    """One configuration in this process; returns the figures as a dict."""
    import torch

    import kgrec
    from kgrec.config import parse_overrides

    start = time.perf_counter()
    data = make_data()
    build_seconds = time.perf_counter() - start
    rss_data = peak_rss_mb()
    config = kgrec.resolve_config(
        {"augmenter": "diffkg", "recommender": "lightgcn",
         "train": {"epochs": epochs, "backend": backend, "device": "cpu", "eval_every": 1}},
        parse_overrides(CONFIGS[label]))
    timings: list[float] = []
    from kgrec_diffkg import DiffKG

    fit = DiffKG.fit_epoch

    def timed_fit(self, ctx):  # time the denoiser phase apart from the BPR batches
        t0 = time.perf_counter()
        out = fit(self, ctx)
        timings.append(time.perf_counter() - t0)
        return out

    DiffKG.fit_epoch = timed_fit
    with tempfile.TemporaryDirectory() as tmp:
        result = kgrec.run(config, data=data, out=Path(tmp) / "run", progress=False, log=None)
    history = result.history
    kg_edges = [row.get("fit_kg_edges") for row in history]
    return {
        "config": label, "threads": torch.get_num_threads(), "backend": result.backend,
        "interactions": len(data.train) + len(data.valid) + len(data.test),
        "triples": len(data.kg), "build_s": build_seconds, "rss_after_data_mb": rss_data,
        "peak_rss_mb": peak_rss_mb(), "fit_s": timings, "epoch_s": [r["train_seconds"] for r in history],
        "eval_s": [r.get("eval_seconds", float("nan")) for r in history], "kg_edges": kg_edges,
        "recall@20": result.test["recall@20"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--configs", default="neighbourhood,all:1",
                        help="comma-separated config[:epochs] (epochs default --epochs)")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child process: run one config, print JSON
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_one(args.one, args.epochs, args.backend)), flush=True)
        return
    from kgrec.data.formats import FORMATS  # noqa: F401  (fail early if kgrec is not importable)
    from kgrec_diffkg.diffusion import ItemRows
    from kgrec_diffkg.kg import KGIndex
    import torch

    data = make_data()
    index = KGIndex.build(data.kg, torch.device("cpu"))
    near = ItemRows.build(index, torch.as_tensor(data.kg.item_entity), "neighbourhood").num_columns
    print(f"# {len(data.train) + len(data.valid) + len(data.test):,} interactions, "
          f"{data.num_users:,} users, {data.num_items:,} items, {data.kg.num_entities:,} entities, "
          f"{len(data.kg):,} triples; item-neighbourhood columns: {near:,}")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    rows = []
    for item in args.configs.split(","):
        label, _, epochs = item.partition(":")
        cmd = [sys.executable, __file__, "--one", label, "--epochs", epochs or str(args.epochs),
               "--backend", args.backend]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
        fit, epoch = np.mean(r["fit_s"]), np.mean(r["epoch_s"])
        rows.append(f"| {label} | {len(r['epoch_s'])} | {r['peak_rss_mb'] / 1024:.2f} | {r['rss_after_data_mb'] / 1024:.2f} | "
                    f"{epoch:.0f} | {fit:.0f} | {epoch - fit:.0f} | {np.mean(r['eval_s']):.0f} | "
                    f"{int(r['kg_edges'][-1] or 0):,} |")
        print(json.dumps(r), file=sys.stderr, flush=True)
    print("| diffkg options | epochs | peak RSS (GB) | RSS after data (GB) | s / epoch | denoiser phase (s) "
          "| BPR batches (s) | eval (s) | rebuilt KG edges |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
