"""Time until the per-epoch test Recall@20 first comes within 1 % of the reference run's best
(issue 15, goal 1), for a reference run of the harness and kgrec runs on the same files.

The reference's epochs come from `bench/reference/results/<run>/epochs.csv`; kgrec's from run
directories trained with `eval.track_test = true` (test logged per epoch, never used to
select). Time is the cumulative training plus evaluation seconds of each epoch (the
reference: its `train_seconds + eval_seconds`; kgrec: `train_seconds + eval_seconds`, its
validation; the tracked test evaluation is measurement only and not counted). Tracking test
here measures speed only; the table also gives kgrec's validation-selected test figure.

    python bench/time_to_accuracy.py bench/reference/results/diffkg-lastfm-hetrec RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

METRIC = "test_recall@20"


def curve(rows: list[dict[str, str]]) -> list[tuple[int, float, float]]:
    """(epoch, cumulative seconds, test recall@20) for the epochs that have a test figure."""
    out, total = [], 0.0
    for row in rows:
        total += float(row.get("train_seconds") or 0) + float(row.get("eval_seconds") or 0)
        if row.get(METRIC):
            out.append((int(row["epoch"]), total, float(row[METRIC])))
    return out


def first_reaching(points: list[tuple[int, float, float]], target: float) -> tuple[int, float] | None:
    return next(((epoch, seconds) for epoch, seconds, value in points if value >= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path, help="a harness result folder (with epochs.csv)")
    parser.add_argument("runs", type=Path, nargs="+", help="kgrec run directories")
    parser.add_argument("--within", type=float, default=0.01, help="relative tolerance (0.01)")
    args = parser.parse_args()
    ref = curve(list(csv.DictReader((args.reference / "epochs.csv").open())))
    best = max(value for _, _, value in ref)
    target = (1 - args.within) * best
    ref_hit = first_reaching(ref, target)
    print(f"reference {args.reference.name}: best test R@20 {best:.4f} (selected on test), target "
          f"{target:.4f}; reached at epoch {ref_hit[0]} after {ref_hit[1]:.0f} s\n")
    print("| kgrec run | epochs | reaches target at epoch | after s | reference s / kgrec s | "
          "kgrec valid-selected test R@20 | best tracked test R@20 (selected on test) |")
    print("|---|---|---|---|---|---|---|")
    for run in args.runs:
        rows = list(csv.DictReader((run / "history.csv").open()))
        points = curve(rows)
        hit = first_reaching(points, target)
        metrics = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").is_file() else {}
        selected = metrics.get("test", {}).get("recall@20")
        print(f"| {run.name} | {len(rows)} | {hit[0] if hit else 'not reached'} | "
              f"{f'{hit[1]:.0f}' if hit else '-'} | {f'{ref_hit[1] / hit[1]:.1f}x' if hit else '-'} | "
              f"{f'{selected:.4f}' if selected is not None else 'unfinished'} | "
              f"{max(v for _, _, v in points):.4f} |")


if __name__ == "__main__":
    main()
