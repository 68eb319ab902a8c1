"""Rerun the DiffMM table of docs/results/diffmm.md: TikTok (image + audio), 5 seeds.

Every run is a plain ``kgrec run`` (printed before it starts). DiffMM rows use
``preset=tiktok`` (reg 1e-4, ssl_reg 1e-2, trans 1, e_loss 0.1, cl_method 1; lr 1e-3,
batch 1024); the baseline gets the same reg. Every row trains exactly ``--epochs`` epochs
(patience = epochs) and is read at its best validation epoch. Seeds vary ``train.seed`` over
the release's own split. Runs go seed by seed (all variants of seed 1, then seed 2, ...), so a
table cut short by a time limit still compares the variants on the same seeds. Finished runs
(a ``metrics.json``) are skipped, so an interrupted table resumes.

    OMP_NUM_THREADS=1 nice python bench/diffmm_results.py [--out /tmp/diffmm_runs]
        [--variants none,nodiff,diffmm] [--epochs 4] [--device cpu|cuda] [--seeds 1,2,3,4,5]
        [--dataset ../shared/data/tiktok] [--table-only]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIKTOK = REPO.parent / "shared" / "data" / "tiktok"
SEEDS = (1, 2, 3, 4, 5)

VARIANTS = {
    # slug: (label, augmenter, extra --set items)
    "none": ("none+lightgcn", "none", ["lightgcn.reg=1e-4"]),
    "nodiff": ("diffmm+lightgcn, modal_graphs=original (no diffusion)", "diffmm",
               ["preset=tiktok", "diffmm.modal_graphs=original"]),
    "diffmm": ("diffmm+lightgcn (DiffMM)", "diffmm", ["preset=tiktok"]),
}


def run_command(out: Path, args: argparse.Namespace, augmenter: str, extra: list[str], seed: int) -> list[str]:
    cmd = [str(Path(sys.executable).parent / "kgrec"), "run", "--augmenter", augmenter,
           "--recommender", "lightgcn", "--dataset", str(args.dataset), "--backend", args.backend,
           "--device", args.device, "--seed", str(seed), "--quiet", "--out", str(out)]
    for item in extra + [f"train.epochs={args.epochs}", f"train.patience={args.epochs}"]:
        cmd += ["--set", item]
    return cmd


def fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/diffmm_runs"))
    parser.add_argument("--dataset", type=Path, default=TIKTOK)
    parser.add_argument("--backend", default="torch", help="torch is faster than DGL on this CPU")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--epochs", type=int, default=4,
                        help="epochs per run (the preset says 50; a CPU budget allows few)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--table-only", action="store_true", help="train nothing; tabulate finished runs")
    args = parser.parse_args()
    variants = args.variants.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    if not args.table_only:
        for seed in seeds:
            for slug in variants:
                out = args.out / slug / f"seed{seed}"
                if (out / "metrics.json").exists():
                    continue
                _, augmenter, extra = VARIANTS[slug]
                cmd = run_command(out, args, augmenter, extra, seed)
                print("$", " ".join(cmd), flush=True)
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                               env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
    print(f"| variant | seeds | test Recall@20 | test NDCG@20 | test Precision@20 | best epoch | "
          f"wall s / epoch ({args.device}) |")
    print("|---|---|---|---|---|---|---|")
    for slug in variants:
        label = VARIANTS[slug][0]
        done = [seed for seed in seeds if (args.out / slug / f"seed{seed}" / "metrics.json").exists()]
        if not done:
            print(f"| {label} | 0 | not run | | | | |")
            continue
        results = [json.loads((args.out / slug / f"seed{seed}" / "metrics.json").read_text()) for seed in done]
        cells = [fmt([r["test"][f"{m}@20"] for r in results]) for m in ("recall", "ndcg", "precision")]
        epochs = [r["best_epoch"] for r in results]
        seconds = statistics.mean(r["mean_epoch_seconds"] for r in results)
        print(f"| {label} | {','.join(map(str, done))} | {' | '.join(cells)} | "
              f"{min(epochs)}-{max(epochs)} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
