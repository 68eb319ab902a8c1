"""torch profiler summary of one kgrec training epoch and one full evaluation (CPU).

Builds the run exactly as ``kgrec.run`` does (``build_components`` and the ``Trainer``), runs
one warm-up epoch and evaluation, then profiles the next few of each and prints the fastest
one's operators by self time, plus the time spent outside torch operators (Python: the
trainer's per-step bookkeeping, the sampler's control flow). The profiler's "CPU" times are
wall-clock spans: time the process spent descheduled by other jobs lands in whatever
operator was running, hence the fastest of a few.

    OMP_NUM_THREADS=1 .venv/bin/python bench/peer/profile_kgrec_epoch.py --threads 1 \
        [--dataset ../shared/data/lastfm-hetrec] [--model lightgcn] [--backend auto]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=str(REPO.parent / "shared" / "data" / "lastfm-hetrec"))
    parser.add_argument("--model", default="lightgcn")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", type=int, default=18)
    parser.add_argument("--repeat", type=int, default=3,
                        help="profile this many epochs (and evaluations) and print the fastest")
    parser.add_argument("--shapes", action="store_true",
                        help="group operators by input shapes too (where fill_/copy_ come from)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import kgrec
    from kgrec.data import load_dataset
    from kgrec.experiment import build_components
    from kgrec.train.trainer import Trainer

    data = load_dataset(args.dataset)
    config = kgrec.resolve_config({"recommender": args.model, "augmenter": "none",
                                   "train": {"backend": args.backend, "device": "cpu", "seed": 0},
                                   "eval": {"topk": [20]}})
    parts = build_components(config, data)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(parts.model, parts.augmenter, data, parts.backend.ops, parts.device,
                          config.train, config.eval, parts.generator, Path(tmp) / "best.pt",
                          progress=False)
        trainer.train_epoch(1)
        trainer.evaluate("valid", 1)
        for what, fn in (("epoch", trainer.train_epoch),
                         ("full evaluation", lambda epoch: trainer.evaluate("valid", epoch))):
            best = None
            for epoch in range(2, 2 + args.repeat):  # keep the fastest: other jobs inflate the rest
                with profile(activities=[ProfilerActivity.CPU], record_shapes=args.shapes) as prof:
                    start = time.perf_counter()
                    with record_function(what):
                        fn(epoch)
                    wall = time.perf_counter() - start
                if best is None or wall < best[0]:
                    best = (wall, prof)
            wall, prof = best
            events = prof.key_averages(group_by_input_shape=args.shapes)
            total = sum(e.self_cpu_time_total for e in events) / 1e6
            ops = sum(e.self_cpu_time_total for e in events if e.key != what) / 1e6
            print(f"\n## {what}: {args.model}, backend {parts.backend.name}, {args.threads} thread(s), "
                  f"{data.name}: {wall:.3f} s under the profiler, torch operators {ops:.3f} s self CPU, "
                  f"outside them (Python, the profiler) {max(total - ops, 0):.3f} s\n")
            print(events.table(sort_by="self_cpu_time_total", row_limit=args.rows,
                               max_name_column_width=48, max_shapes_column_width=60))


if __name__ == "__main__":
    main()
