"""kgrec against RecBole 1.2.1: the same split, models, settings, threads and machine.

For each dataset (Last.FM HetRec interactions, FilmTrust) and model (LightGCN; MF, which is
RecBole's ``BPR``), every run trains a fixed number of epochs with validation after each and
the test split evaluated after the last (no epoch selection, no early stopping), in its own
process with ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` and ``torch.set_num_threads`` set to
the same thread count. The variants:

- ``recbole``: RecBole 1.2.1 in its own environment (bench/peer/setup_recbole.sh), run by
  bench/peer/recbole_runner.py on the benchmark files bench/peer/export_split.py writes.
- ``kgrec``: ``kgrec.run`` with ``--backend auto`` (the defaults a user gets).
- ``kgrec-dgl``: the same with ``--backend dgl``, for the record.
- ``kgrec-same``: kgrec trained the way RecBole trains (see SETTINGS below), to check that
  the metrics agree; timed too.

Timings are the spans each tool itself reports: kgrec's history ``train_seconds`` (the whole
``Trainer.train_epoch``: sampling, batches, optimiser) and ``eval_seconds`` (one full-ranking
validation), and RecBole's ``Trainer.fit`` spans around ``_train_epoch`` and
``_valid_epoch``. Both recompute LightGCN's full propagation once per BPR batch, and once per
evaluation. A run's figure is the median over its epochs after the first; the table shows the
median over the repeats (seeds 0, 1, 2, ...), which run interleaved (recbole, kgrec,
kgrec-dgl, kgrec-same, then the next seed) so that the machine's changing load hits every
variant alike. Beside wall seconds the table gives the process's CPU seconds for the same span
(``time.process_time``), which other jobs on the machine disturb less: with one thread it is
the work done; with two it also counts time spent spinning at OpenMP barriers. The load
average (``/proc/loadavg``) is recorded before every run.

SETTINGS, kgrec name = RecBole name (both tools' defaults differ; these are set explicitly):

- embedding 64: ``lightgcn.dim`` / ``mf.dim`` = ``embedding_size``; LightGCN layers 2:
  ``lightgcn.layers`` = ``n_layers``; Adam lr 1e-3: ``train.lr`` = ``learning_rate``; batch
  1024: ``train.batch_size`` = ``train_batch_size``; one uniform negative per positive, never
  a training positive (both); evaluation: full ranking of every item, training items masked
  (and validation items at test), Recall@20 and NDCG@20 averaged over users with a held-out
  item, 1024 users scored per block: ``train.eval_batch_size`` = 1024 and
  ``eval_batch_size = 1024 * (items + 1)`` (RecBole counts its padding item and scores
  ``eval_batch_size // item_num`` users at once; its default 4096 would score one user at a
  time here).
- LightGCN reg: kgrec ``lightgcn.reg = 1e-4`` (``reg_on = input``: ``reg * sum ||e0||^2 /
  (2B)`` over the batch's layer-0 user, positive and negative rows) is exactly RecBole's
  ``reg_weight = 1e-4`` with ``require_pow = True`` (``EmbLoss``: squared norms / B / 2). With
  RecBole's default ``require_pow = False`` the term is the unsquared norms / B, which kgrec
  cannot express.
- MF reg: RecBole's ``BPR`` has no regulariser (only the optimiser's ``weight_decay``, which
  acts on whole tables); kgrec's default ``mf.reg = 1e-4`` (batch rows) has no RecBole
  counterpart, so ``kgrec-same`` sets ``mf.reg = 0`` and RecBole keeps ``weight_decay = 0``.
- What differs and stays (the default ``kgrec`` row): kgrec's LightGCN adds self-loops before
  normalising (``lightgcn.self_loops``, as the LightGCN reference code does) and sums the
  layer outputs, RecBole normalises ``A`` without self-loops and averages the layers, so
  kgrec's final embeddings are 3x RecBole's for the same weights (at 2 layers): its scores 9x,
  and the BPR loss sees sharper differences. ``kgrec-same`` sets ``self_loops = false`` and
  divides the layer sum by ``layers + 1`` (a patch of ``LightGCN.encode`` inside this script's
  worker process only). Initialisation: both use Xavier-uniform for LightGCN; for MF RecBole
  uses Xavier-normal, kgrec Xavier-uniform (same variance). RecBole's BPR loss is
  ``-log(1e-10 + sigmoid(d))``, kgrec's ``softplus(-d)``: equal to ~1e-10.

    # docs/benchmarks.md's two tables (35 min and 10 min on the 2-core VM):
    .venv/bin/python bench/peer/recbole_vs_kgrec.py --threads 1 --epochs 100 --repeats 3
    .venv/bin/python bench/peer/recbole_vs_kgrec.py --threads 2,1 --epochs 10 --repeats 3 \
        --omp-wait-policy PASSIVE
    .venv/bin/python bench/peer/recbole_vs_kgrec.py --datasets lastfm --models lightgcn \
        --threads 1 --repeats 1 --epochs 5                          # a smoke run

With more threads than cores free to this session (other sessions' jobs; the kernel's
autogroup shares the CPUs between sessions), OpenMP's default spinning makes every parallel
region wait for a descheduled sibling, for both tools: pass ``--omp-wait-policy PASSIVE``.

Needs /tmp/recbole-venv (``bash bench/peer/setup_recbole.sh``). Prints one Markdown table;
``--json`` also keeps every run's raw record.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DATASETS = {"lastfm": "lastfm-hetrec", "filmtrust": "filmtrust"}
RECBOLE_MODEL = {"lightgcn": "LightGCN", "mf": "BPR"}
VARIANTS = ("recbole", "kgrec", "kgrec-dgl", "kgrec-same")
EVAL_USERS = 1024
TOPK = 20


# ----------------------------------------------------------------------------- kgrec worker

def kgrec_worker(job: dict) -> dict:
    """One kgrec run in this (fresh) process; returns the same record as recbole_runner."""
    import torch

    torch.set_num_threads(int(job["threads"]))
    import kgrec
    from kgrec.data import load_dataset
    from kgrec.interfaces import Embeddings
    from kgrec.recommenders.lightgcn import LightGCN
    from kgrec.train.trainer import Trainer

    if job["variant"] == "kgrec-same" and job["model"] == "lightgcn":
        plain_encode = LightGCN.encode

        def mean_of_layers(self, view):  # RecBole averages the layers; kgrec sums them
            out = plain_encode(self, view)
            return Embeddings(out.users / (self.config.layers + 1), out.items / (self.config.layers + 1))

        LightGCN.encode = mean_of_layers

    cpu: dict[str, list[float]] = {"train": [], "eval": []}
    plain_train, plain_eval = Trainer.train_epoch, Trainer.evaluate

    def timed_train(self, epoch):
        start = time.process_time()
        try:
            return plain_train(self, epoch)
        finally:
            cpu["train"].append(time.process_time() - start)

    def timed_eval(self, split, epoch):
        start = time.process_time()
        try:
            return plain_eval(self, split, epoch)
        finally:
            cpu["eval" if split == "valid" else "test"] = cpu.get(
                "eval" if split == "valid" else "test", []) + [time.process_time() - start]

    Trainer.train_epoch, Trainer.evaluate = timed_train, timed_eval
    data = load_dataset(job["dataset_path"])
    model = job["model"]
    options: dict = {"dim": 64}
    if model == "lightgcn":
        options.update(layers=2, reg=1e-4, reg_on="input")
        if job["variant"] == "kgrec-same":
            options["self_loops"] = False
    elif job["variant"] == "kgrec-same":
        options["reg"] = 0.0
    config = {"recommender": model, "augmenter": "none",
              "train": {"backend": "dgl" if job["variant"] == "kgrec-dgl" else "auto",
                        "device": "cpu", "epochs": job["epochs"], "seed": job["seed"],
                        "lr": 1e-3, "batch_size": 1024, "eval_batch_size": EVAL_USERS,
                        "patience": job["epochs"] + 1, "select_metric": f"recall@{TOPK}"},
              "eval": {"topk": [TOPK], "track_test": True},
              model: options}
    with tempfile.TemporaryDirectory() as tmp:
        result = kgrec.run(config, data=data, out=Path(tmp) / "run", progress=False, log=None)
    epochs = []
    for row, train_cpu, eval_cpu in zip(result.history, cpu["train"], cpu["eval"]):
        epochs.append({"epoch": row["epoch"], "train_seconds": row["train_seconds"],
                       "eval_seconds": row["eval_seconds"], "train_cpu": train_cpu,
                       "eval_cpu": eval_cpu, "loss": row["loss"],
                       **{f"valid_{m}@{TOPK}": row[f"valid_{m}@{TOPK}"] for m in ("recall", "ndcg")}})
    last = result.history[-1]
    return {"kgrec": kgrec.__version__, "torch": torch.__version__,
            "threads": torch.get_num_threads(), "backend": result.backend,
            "users": data.num_users, "items": data.num_items, "train": len(data.train),
            "valid": len(data.valid), "test": len(data.test),
            "split_sha256": dict(data.split["sha256"]), "epochs": epochs,
            "test_metrics": {f"{m}@{TOPK}": last[f"test_{m}@{TOPK}"] for m in ("recall", "ndcg")}}


# ----------------------------------------------------------------------------- driver

def recbole_job(name: str, data_path: Path, model: str, epochs: int, seed: int, threads: int,
                num_items: int, checkpoints: Path) -> dict:
    config = {
        "data_path": str(data_path), "benchmark_filename": ["train", "valid", "test"],
        "load_col": {"inter": ["user_id", "item_id"]},
        "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "group_by": "user", "order": "RO",
                      "mode": "full"},  # the split key is ignored: benchmark files are the split
        "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1, "alpha": 1.0,
                                  "dynamic": False, "candidate_num": 0},
        "epochs": epochs, "train_batch_size": 1024, "learning_rate": 1e-3, "learner": "adam",
        "weight_decay": 0.0, "embedding_size": 64, "eval_batch_size": EVAL_USERS * (num_items + 1),
        "metrics": ["Recall", "NDCG"], "topk": [TOPK], "valid_metric": f"recall@{TOPK}",
        "metric_decimal_place": 12, "stopping_step": 10 ** 9, "eval_step": 1,
        "use_gpu": False, "device": "cpu", "seed": seed, "reproducibility": True,
        "state": "ERROR", "show_progress": False, "checkpoint_dir": str(checkpoints), "worker": 0,
    }
    if model == "lightgcn":
        config.update(n_layers=2, reg_weight=1e-4, require_pow=True)
    return {"threads": threads, "model": RECBOLE_MODEL[model], "dataset": name, "config": config}


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_one(variant: str, args, name: str, model: str, seed: int, threads: int,
            num_items: int, work: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    if args.omp_wait_policy:
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy
    if variant == "recbole":
        job = recbole_job(name, args.export_dir, model, args.epochs, seed, threads, num_items,
                          work / "saved")
        cmd = [str(args.recbole_python), str(HERE / "recbole_runner.py"), json.dumps(job)]
        cwd = work  # RecBole writes log_tensorboard/ into its working directory
    else:
        job = {"variant": variant, "model": model, "threads": threads, "epochs": args.epochs,
               "seed": seed, "dataset_path": str(args.data_root / name)}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job)]
        cwd = REPO
    load = loadavg()
    start = time.time()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.time() - start
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"{variant} {name} {model} failed (rc {proc.returncode}):\n"
                         f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    record = json.loads(line[len("RESULT "):])
    record.update(variant=variant, dataset=name, model=model, seed=seed, threads_asked=threads,
                  load_before=load, load_after=loadavg(), process_seconds=wall)
    return record


def summarise(records: list[dict]) -> dict:
    """Median over runs of each run's median over epochs 2..N, and the last epoch's metrics."""
    def per_run(key: str) -> list[float]:
        out = []
        for r in records:
            values = [e[key] for e in r["epochs"][1:] if key in e] or [e[key] for e in r["epochs"] if key in e]
            if values:
                out.append(statistics.median(values))
        return out

    def med(values: list[float]) -> float | None:
        return statistics.median(values) if values else None

    def metric(where: str, name: str) -> list[float]:
        if where == "valid":
            return [r["epochs"][-1][f"valid_{name}@{TOPK}"] for r in records]
        return [r["test_metrics"][f"{name}@{TOPK}"] for r in records]

    return {"train_s": med(per_run("train_seconds")), "eval_s": med(per_run("eval_seconds")),
            "train_cpu": med(per_run("train_cpu")), "eval_cpu": med(per_run("eval_cpu")),
            "train_runs": per_run("train_seconds"), "eval_runs": per_run("eval_seconds"),
            **{f"{w}_{m}": metric(w, m) for w in ("valid", "test") for m in ("recall", "ndcg")},
            "loads": [r["load_before"].split()[0] for r in records],
            "backend": records[0].get("backend", "-")}


def fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def fmt_metric(values: list[float]) -> str:
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.4f}"
    return f"{mean:.4f} ± {statistics.stdev(values):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="lastfm,filmtrust")
    parser.add_argument("--models", default="lightgcn,mf")
    parser.add_argument("--threads", default="2,1", help="comma-separated thread counts")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell (seeds 0..n-1)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--export-dir", type=Path, default=Path("/tmp/recbole-data"),
                        help="where the RecBole benchmark files are written (data_path)")
    parser.add_argument("--recbole-python", type=Path, default=Path("/tmp/recbole-venv/bin/python"))
    parser.add_argument("--omp-wait-policy", default=os.environ.get("OMP_WAIT_POLICY", ""),
                        help="OMP_WAIT_POLICY for every run (PASSIVE: idle OpenMP threads sleep "
                             "instead of spinning; default: the runtime's, which spins)")
    parser.add_argument("--json", type=Path, default=None, help="also write every run's record here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print("RESULT " + json.dumps(kgrec_worker(json.loads(args.worker))), flush=True)
        return

    variants = args.variants.split(",")
    if "recbole" in variants and not args.recbole_python.exists():
        raise SystemExit(f"{args.recbole_python} is missing: run bash bench/peer/setup_recbole.sh")
    sys.path.insert(0, str(HERE))
    import torch
    from export_split import export
    from kgrec.data import load_dataset

    print(f"# {platform.node()}, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
          f"torch {torch.__version__}; {args.epochs} epochs per run, {args.repeats} runs per cell; "
          f"OMP_WAIT_POLICY={args.omp_wait_policy or '(unset)'}; "
          f"load before start {loadavg()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="recbole-vs-kgrec-"))
    records: list[dict] = []
    rows: list[tuple] = []
    for key in args.datasets.split(","):
        name = DATASETS[key]
        data = load_dataset(str(args.data_root / name))
        exported = export(data, name, args.export_dir)
        for model in args.models.split(","):
            for threads in (int(t) for t in args.threads.split(",")):
                cell: dict[str, list[dict]] = {v: [] for v in variants}
                for seed in range(args.repeats):
                    for variant in variants:
                        r = run_one(variant, args, name, model, seed, threads, data.num_items, work)
                        if variant != "recbole" and r["split_sha256"] != exported["split"]["sha256"]:
                            raise SystemExit(f"{variant} trained on another split than the export")
                        if variant == "recbole" and r.get("split_sha256") not in (None, exported["split"]["sha256"]):
                            raise SystemExit("RecBole loaded other pairs than kgrec's split")
                        cell[variant].append(r)
                        records.append(r)
                        s = summarise([r])
                        print(f"#   {key} {model} {threads}t seed {seed} {variant:10s} load {r['load_before']}: "
                              f"epoch {fmt(s['train_s'])} s (cpu {fmt(s['train_cpu'])}), eval "
                              f"{fmt(s['eval_s'])} s (cpu {fmt(s['eval_cpu'])}), valid R@20 "
                              f"{s['valid_recall'][0]:.4f}, test R@20 {s['test_recall'][0]:.4f}", flush=True)
                for variant in variants:
                    rows.append((key, model, threads, variant, summarise(cell[variant])))
                if args.json is not None:
                    args.json.write_text(json.dumps(records, indent=1))

    print()
    print(f"| dataset | model | threads | tool | backend | epoch s | epoch CPU s | full eval s | "
          f"eval CPU s | valid R@{TOPK} | valid N@{TOPK} | test R@{TOPK} | test N@{TOPK} | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for key, model, threads, variant, s in rows:
        print(f"| {key} | {model} | {threads} | {variant} | {s['backend']} | {fmt(s['train_s'])} | "
              f"{fmt(s['train_cpu'])} | {fmt(s['eval_s'])} | {fmt(s['eval_cpu'])} | "
              f"{fmt_metric(s['valid_recall'])} | {fmt_metric(s['valid_ndcg'])} | "
              f"{fmt_metric(s['test_recall'])} | {fmt_metric(s['test_ndcg'])} | {', '.join(s['loads'])} |")
    print()
    print("Ratios, RecBole / kgrec (median seconds; > 1: kgrec faster):")
    by = {(k, m, t, v): s for k, m, t, v, s in rows}
    for key, model, threads, variant, s in rows:
        if variant == "recbole" or (key, model, threads, "recbole") not in by:
            continue
        base = by[(key, model, threads, "recbole")]
        ratio = lambda a, b: "-" if not a or not b else f"{a / b:.2f}x"
        print(f"- {key} {model} {threads} thread(s), {variant}: epoch {ratio(base['train_s'], s['train_s'])} "
              f"(CPU {ratio(base['train_cpu'], s['train_cpu'])}), full eval "
              f"{ratio(base['eval_s'], s['eval_s'])} (CPU {ratio(base['eval_cpu'], s['eval_cpu'])})")
    print(f"\n# load after the last run {loadavg()}; work dir {work}")


if __name__ == "__main__":
    main()
