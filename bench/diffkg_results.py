"""Rerun the DiffKG table of docs/results/diffkg.md on Last.FM HetRec (+ Satori KG).

Every run is a plain ``kgrec run`` (printed before it starts). All variants share the training
settings in COMMON (same split ``split.seed`` 2024, seeds vary ``train.seed``) and the backbone's
L2 of the ``lastfm`` preset (1e-5), so the rows differ only in the augmenter. Finished runs (a
``metrics.json``) are skipped, so an interrupted table resumes. Prints a Markdown table of
validation-selected test Recall@20 / NDCG@20 (mean ± std over seeds), the best epochs, the mean
wall time of a training epoch and the runs' CPU time.

    OMP_NUM_THREADS=1 nice python bench/diffkg_results.py [--out /tmp/diffkg_runs]
        [--variants base,nodiff,diffkg,mf] [--seeds 1,2,3,4,5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO.parent / "shared" / "data" / "lastfm-hetrec"
SEEDS = (1, 2, 3, 4, 5)

COMMON = ["train.lr=5e-3", "train.epochs=40", "train.patience=8"]
"""lr 5e-3 instead of the reference's 1e-3: at 1e-3 LightGCN needs ~130 epochs of this small
dataset (15 BPR steps each) to peak, which the denoiser phase makes unaffordable on a shared
2-core CPU; 5e-3 peaks in 15-30 epochs (chosen on validation, see the results page)."""
DIFFKG = ["preset=lastfm", "diffkg.diffuse_every=5"]
"""The paper's Last-FM settings; the denoiser trains and the KG is rebuilt every 5th epoch
(the keep-rate dropout is redrawn every epoch), a CPU-budget deviation."""
VARIANTS = {
    "base": ("none+lightgcn", "none", "lightgcn", ["lightgcn.reg=1e-5"]),
    "nodiff": ("diffkg+lightgcn, kg_view=original (no diffusion)", "diffkg", "lightgcn",
               ["preset=lastfm", "diffkg.kg_view=original"]),
    "diffkg": ("diffkg+lightgcn", "diffkg", "lightgcn", DIFFKG),
    "mf": ("diffkg+mf", "diffkg", "mf", DIFFKG),
    "base-mf": ("none+mf", "none", "mf", ["mf.reg=1e-5"]),
    "dropout": ("diffkg+lightgcn, kg_view=dropout (the reference code's KG)", "diffkg", "lightgcn",
                ["preset=lastfm", "diffkg.kg_view=dropout", "diffkg.keep_rate=0.5"]),
    "nocl": ("diffkg+lightgcn, contrast=false", "diffkg", "lightgcn",
             ["preset=lastfm", "diffkg.contrast=false"]),
    "pattern0": ("diffkg+lightgcn, cl_pattern=0 (denoised KG feeds BPR)", "diffkg", "lightgcn",
                 DIFFKG + ["diffkg.cl_pattern=0"]),
}


def run(out: Path, augmenter: str, recommender: str, extra: list[str], seed: int, backend: str) -> dict:
    if not (out / "metrics.json").exists():
        cmd = [str(Path(sys.executable).parent / "kgrec"), "run", "--augmenter", augmenter,
               "--recommender", recommender, "--dataset", str(DATASET), "--backend", backend,
               "--seed", str(seed), "--quiet", "--out", str(out)]
        for item in COMMON + extra:
            cmd += ["--set", item]
        print("$", " ".join(cmd), flush=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        (out / "cpu_seconds.txt").write_text(f"{cpu:.1f}\n")
    metrics = json.loads((out / "metrics.json").read_text())
    cpu_file = out / "cpu_seconds.txt"
    metrics["cpu_seconds"] = float(cpu_file.read_text()) if cpu_file.exists() else float("nan")
    return metrics


def fmt(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/diffkg_runs")
    parser.add_argument("--backend", default="torch", help="torch is faster than DGL on this CPU")
    parser.add_argument("--variants", default="base,nodiff,diffkg,mf")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--split", default="test", choices=["test", "valid"],
                        help="report test (validation-selected) or the selecting validation score")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for key in args.variants.split(","):
        label, aug, rec, extra = VARIANTS[key]
        results = [run(Path(args.out) / key / f"seed{seed}", aug, rec, extra, seed, args.backend)
                   for seed in seeds]
        recall = [r[args.split]["recall@20"] for r in results]
        ndcg = [r[args.split]["ndcg@20"] for r in results]
        epochs = [r["best_epoch"] for r in results]
        seconds = statistics.mean(r["mean_epoch_seconds"] for r in results)
        cpu = sum(r["cpu_seconds"] for r in results) / 60
        rows.append(f"| {label} | {fmt(recall)} | {fmt(ndcg)} | {min(epochs)}-{max(epochs)} | "
                    f"{seconds:.1f} | {cpu:.1f} |")
    print(f"| variant | {args.split} Recall@20 | {args.split} NDCG@20 | best epoch | s / epoch (wall) "
          "| CPU min (all seeds) |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
