"""Fingerprint every plugin's preset: a few epochs each, fixed seed, CPU, torch backend, one
thread; save the per-epoch history and test metrics, and compare two saved fingerprints.

A refactor that must not change results (same seed, same metrics) runs this before and after:

    python bench/preset_fingerprint.py --save /tmp/before.json          # on the old commit
    python bench/preset_fingerprint.py --save /tmp/after.json --compare /tmp/before.json

Cases on the real data skip when ../shared/data is absent. Prints one row per case: test
Recall@20 / NDCG@20 and whether the test metrics and the logged losses are identical.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

import kgrec

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CASES = {  # name: (augmenter, recommender, dataset, preset, epochs)
    "none+lightgcn synthetic": ("none", "lightgcn", "synthetic", "", 3),
    "diffkg+lightgcn synthetic": ("diffkg", "lightgcn", "synthetic", "", 3),
    "recdiff+gcn synthetic": ("recdiff", "gcn", "synthetic", "", 3),
    "diffmm+lightgcn synthetic": ("diffmm", "lightgcn", "synthetic", "", 3),
    "adagcl+lightgcn synthetic": ("adagcl", "lightgcn", "synthetic", "", 3),
    "diffkg+lightgcn lastfm": ("diffkg", "lightgcn", "lastfm-hetrec", "lastfm", 2),
    "recdiff+gcn filmtrust": ("recdiff", "gcn", "filmtrust", "ciao", 5),
    "diffmm+lightgcn tiktok": ("diffmm", "lightgcn", "tiktok", "tiktok", 2),
    "adagcl+lightgcn lastfm": ("adagcl", "lightgcn", "lastfm-hetrec", "sslrec", 2),
}


def fingerprint(augmenter: str, recommender: str, dataset: str, preset: str, epochs: int) -> dict:
    spec = dataset if dataset == "synthetic" else str(DATA / dataset)
    config = {"augmenter": augmenter, "recommender": recommender, "dataset": spec, "preset": preset,
              "train": {"epochs": epochs, "seed": 1, "device": "cpu", "backend": "torch",
                        "patience": 100}}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = kgrec.run(config, out=Path(tmp) / "run", progress=False, log=None)
    history = [{k: v for k, v in row.items() if not k.endswith("_seconds")} for row in result.history]
    return {"history": history, "test": result.test, "wall_s": round(time.perf_counter() - start, 1)}


def differences(old: dict, new: dict) -> tuple[bool, float]:
    """(test metrics identical, largest relative difference of any logged value)."""
    worst = 0.0
    for a, b in zip(old["history"], new["history"]):
        for key in set(a) | set(b):
            x, y = a.get(key), b.get(key)
            if x != y:
                worst = max(worst, abs(x - y) / max(abs(x), 1e-12) if None not in (x, y) else float("inf"))
    return old["test"] == new["test"], worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", type=Path, required=True, help="write the fingerprints here (JSON)")
    parser.add_argument("--compare", type=Path, help="an earlier --save to compare against")
    parser.add_argument("--cases", help="comma-separated names (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    before = json.loads(args.compare.read_text()) if args.compare else {}
    names = args.cases.split(",") if args.cases else list(CASES)
    saved: dict[str, dict] = {}
    print("| case | test R@20 | test N@20 | wall s | same test metrics | max rel. diff of logged values |")
    print("|---|---|---|---|---|---|")
    for name in names:
        augmenter, recommender, dataset, preset, epochs = CASES[name]
        if dataset != "synthetic" and not (DATA / dataset).is_dir():
            print(f"| {name} | skipped: {DATA / dataset} absent | | | | |")
            continue
        saved[name] = fingerprint(augmenter, recommender, dataset, preset, epochs)
        args.save.write_text(json.dumps(saved, indent=1))
        same, worst = differences(before[name], saved[name]) if name in before else (None, None)
        test = saved[name]["test"]
        print(f"| {name} | {test['recall@20']:.4f} | {test['ndcg@20']:.4f} | {saved[name]['wall_s']} "
              f"| {'-' if same is None else same} | {'-' if worst is None else f'{worst:.1e}'} |",
              flush=True)


if __name__ == "__main__":
    main()
