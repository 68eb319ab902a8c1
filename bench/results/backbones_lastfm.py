"""LightGCN vs MF on Last.FM HetRec interactions: validation-selected test metrics over seeds.

    python bench/results/backbones_lastfm.py [--seeds 1,2,3] [--out /tmp/kgrec-backbones]

Prints a Markdown table (mean ± std over seeds) for docs/results.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import kgrec
from kgrec.data import load_dataset

REPO = Path(__file__).resolve().parents[2]
SETTINGS = {"train": {"epochs": 400, "eval_every": 5, "patience": 10, "lr": 1e-3,
                      "batch_size": 1024, "backend": "auto", "device": "cpu"}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--models", default="mf,lightgcn")
    parser.add_argument("--out", default="/tmp/kgrec-backbones")
    args = parser.parse_args()
    data = load_dataset(str(REPO.parent / "shared" / "data" / "lastfm-hetrec"))
    rows = {}
    for model in args.models.split(","):
        for seed in map(int, args.seeds.split(",")):
            run_dir = Path(args.out) / f"{model}-s{seed}"
            if not (run_dir / "metrics.json").exists():
                raw = {"recommender": model, "augmenter": "none",
                       "train": {**SETTINGS["train"], "seed": seed}}
                kgrec.run(raw, data=data, out=run_dir, progress=False)
            rows.setdefault(model, []).append(json.loads((run_dir / "metrics.json").read_text()))
    print("| model | seeds | test Recall@20 | test NDCG@20 | valid Recall@20 | best epoch | s/epoch |")
    print("|---|---|---|---|---|---|---|")
    for model, runs in rows.items():
        def stat(get):
            values = [get(r) for r in runs]
            return f"{statistics.mean(values):.4f} ± {statistics.stdev(values) if len(values) > 1 else 0:.4f}"
        print(f"| none+{model} | {len(runs)} | {stat(lambda r: r['test']['recall@20'])} | "
              f"{stat(lambda r: r['test']['ndcg@20'])} | {stat(lambda r: r['valid']['recall@20'])} | "
              f"{', '.join(str(r['best_epoch']) for r in runs)} | "
              f"{statistics.mean(r['mean_epoch_seconds'] for r in runs):.3f} |")


if __name__ == "__main__":
    main()
