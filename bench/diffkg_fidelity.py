"""DiffKG in kgrec beside HKUDS/DiffKG's own run, on the same Last.FM HetRec files (issue 14).

The reference's files come from the harness's converter (`bench/reference/diffkg.py`); kgrec
reads them in DiffKG's format (carving a validation split out of the training matrix, so it
trains on 90 % of the reference's training pairs). Every variant runs the `lastfm` preset
(the reference README's Last-FM command) for the same number of epochs with the test split
tracked per epoch (logged only; kgrec still selects on validation). Per epoch it prints the
rebuilt KG's size (pairs found in the KG, edges after keep-rate dropout) and test Recall@20
beside the reference's `epochs.csv` from `bench/reference/results/diffkg-lastfm-hetrec/`.

    OMP_NUM_THREADS=1 python bench/diffkg_fidelity.py --variants as-run,rebuilt-entities \\
        [--epochs 25] [--out /tmp/kgrec-diffkg-fidelity] [--seed 1]

Each variant's run directory is kept under --out, and a finished one is not rerun.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VARIANTS = {  # name: raw settings laid over the lastfm preset
    "as-run": {"diffkg": {"kg_view": "as-run", "rows": "entities", "columns": "all"}},
    "as-run-reg": {"diffkg": {"kg_view": "as-run", "rows": "entities", "columns": "all", "reg": 1e-5},
                   "lightgcn": {"reg_on": "tables"}},  # L2 on every parameter, as calcRegLoss
    "as-run-valid2": {"diffkg": {"kg_view": "as-run", "rows": "entities", "columns": "all"},
                      "split": {"valid_ratio": 0.02}},  # what a 10 % smaller training set costs
    "rebuilt-entities": {"diffkg": {"kg_view": "rebuilt", "rows": "entities", "columns": "all"}},
    "rebuilt-items": {"diffkg": {"kg_view": "rebuilt", "rows": "items", "columns": "neighbourhood"}},
    "original": {"diffkg": {"kg_view": "original"}},
}
REFERENCE = REPO / "bench" / "reference" / "results" / "diffkg-lastfm-hetrec" / "epochs.csv"


def main() -> None:
    import torch

    import kgrec
    from bench.reference.diffkg import convert_lastfm_hetrec

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="as-run,rebuilt-entities,rebuilt-items")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "lastfm-hetrec")
    parser.add_argument("--out", type=Path, default=Path("/tmp/kgrec-diffkg-fidelity"))
    args = parser.parse_args()
    files = args.out / "data" / "lastfm"
    if not (files / "kg.txt").is_file():
        convert_lastfm_hetrec(args.data, files)
    reference = list(csv.DictReader(REFERENCE.open())) if REFERENCE.is_file() else []
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads; reference: "
          f"{REFERENCE if reference else 'absent'}")
    for name in args.variants.split(","):
        run_dir = args.out / f"{name}-s{args.seed}"
        if not (run_dir / "metrics.json").is_file():
            config = {"augmenter": "diffkg", "recommender": "lightgcn", "dataset": str(files),
                      "preset": "lastfm", **VARIANTS[name],
                      "eval": {"track_test": True},
                      "train": {"epochs": args.epochs, "patience": args.epochs, "seed": args.seed,
                                "device": "cpu", "backend": "torch"}}
            kgrec.resume(run_dir, progress=False) if (run_dir / "config.json").is_file() else \
                kgrec.run(config, out=run_dir, progress=False)
        history = list(csv.DictReader((run_dir / "history.csv").open()))
        metrics = json.loads((run_dir / "metrics.json").read_text())
        print(f"\n## {name}: {VARIANTS[name]}; kgrec valid-selected epoch {metrics['best_epoch']}, "
              f"test R@20 {metrics['test']['recall@20']:.4f}")
        print("| epoch | kgrec KG pairs | ref KG pairs | kgrec kept edges | ref kept edges | "
              "kgrec test R@20 | ref test R@20 | kgrec s | ref s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for row, ref in zip(history, reference + [{}] * len(history)):
            print(f"| {row['epoch']} | {row.get('fit_kg_pairs', '')} | {ref.get('rebuilt_kg_edges', '')} "
                  f"| {row.get('graph_kg_edges', row.get('fit_kg_edges', ''))} | {ref.get('masked_kg_edges', '')} "
                  f"| {float(row['test_recall@20']):.4f} | {ref.get('test_recall@20', '')} "
                  f"| {float(row['train_seconds']):.1f} | {ref.get('train_seconds', '')} |")


if __name__ == "__main__":
    main()
