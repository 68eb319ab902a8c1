"""Do kgrec and RecBole 1.2.1 compute the same Recall@20 / NDCG@20 from the same scores?

kgrec trains LightGCN for a few epochs (as ``kgrec.run`` builds it) and evaluates its final
user and item embeddings with its own full-ranking evaluation (``Trainer.evaluate``: training
items masked for validation, training and validation items for test). The same embeddings,
rows put in RecBole's ids through the exported tokens, become the tables of a RecBole ``BPR``
model, which RecBole's ``Trainer.evaluate`` ranks on the benchmark files of the same split
(bench/peer/export_split.py) with its own masking, top-k and metric code. Prints both and the
largest difference; they agree up to float rounding (per-user values are float32 in kgrec,
float64 in RecBole) and ties in the float32 scores.

    .venv/bin/python bench/peer/check_metrics.py [--datasets lastfm,filmtrust] [--epochs 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from recbole_vs_kgrec import DATASETS, REPO, TOPK, recbole_job  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="lastfm,filmtrust")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--export-dir", type=Path, default=Path("/tmp/recbole-data"))
    parser.add_argument("--recbole-python", type=Path, default=Path("/tmp/recbole-venv/bin/python"))
    args = parser.parse_args()

    import kgrec
    from export_split import export
    from kgrec.data import load_dataset
    from kgrec.experiment import build_components
    from kgrec.train.trainer import Trainer

    worst = 0.0
    for key in args.datasets.split(","):
        name = DATASETS[key]
        data = load_dataset(str(args.data_root / name))
        export(data, name, args.export_dir)
        config = kgrec.resolve_config({"recommender": "lightgcn", "augmenter": "none",
                                       "train": {"device": "cpu", "seed": 0},
                                       "eval": {"topk": [TOPK]}})
        parts = build_components(config, data)
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(parts.model, parts.augmenter, data, parts.backend.ops, parts.device,
                              config.train, config.eval, parts.generator, Path(tmp) / "best.pt",
                              progress=False)
            for epoch in range(1, args.epochs + 1):
                trainer.train_epoch(epoch)
            ours = {split: trainer.evaluate(split, args.epochs) for split in ("valid", "test")}
            with torch.no_grad():
                emb = trainer.embeddings(trainer.context(args.epochs, training=False))
            path = Path(tmp) / "emb.npz"
            np.savez(path, users=emb.users.numpy(), items=emb.items.numpy())
            job = recbole_job(name, args.export_dir, "mf", 1, 0, 2, data.num_items, Path(tmp) / "saved")
            job["embeddings"] = str(path)
            proc = subprocess.run([str(args.recbole_python), str(HERE / "recbole_runner.py"),
                                   json.dumps(job)], cwd=tmp, capture_output=True, text=True)
        line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            raise SystemExit(f"RecBole failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        theirs = json.loads(line[len("RESULT "):])
        for split in ("valid", "test"):
            for metric in ("recall", "ndcg"):
                k = f"{metric}@{TOPK}"
                a, b = ours[split][k], theirs[split][k]
                worst = max(worst, abs(a - b))
                print(f"{key} {split} {k}: kgrec {a:.10f}  RecBole {b:.10f}  diff {a - b:+.1e}")
    print(f"largest difference {worst:.1e}")


if __name__ == "__main__":
    main()
