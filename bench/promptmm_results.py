"""PromptMM on TikTok (issue 20, item 4): the distilled student against the same backbone
alone, against its teacher, and with each distillation part ablated; floors; parameter counts
and full-ranking inference time of teacher and student, all from this one script.

Every run is a plain ``kgrec.run`` of the plugin's ``tiktok`` preset (the reference's TikTok
block), read at its validation-selected epoch, over the release's own split, one seed at a
time (``train.seed``), so a table cut short still compares arms on the same seeds. Per seed:

- ``teacher``: ``promptmm.stage=teacher``: the teacher phase alone, its own AdamW and early
  stopping; the run is evaluated with the teacher, so its metrics are the teacher's. Every
  student arm of that seed loads this teacher (``promptmm.teacher_from``), so the arms differ
  only in what they distil;
- ``student``: the backbone distilled from it (the full method);
- ``no-pair`` / ``no-list`` / ``no-emb``: one distillation part switched off;
- ``no-prompt``: a teacher trained without the prompt module (``teacher-noprompt``), then a
  student distilled from it;
- ``prompt-distill``: the paper's prompt-tuning (prompts tuned by the distillation losses);
- ``alone``: ``none`` + the same backbone with the same settings (dim, reg, layers, lr, batch);
- ``pop`` / ``ease``: the floors (when this kgrec registers them).

Tables: test Recall@20 / NDCG@20 (mean ± sample std over seeds), paired t-tests over seeds
against ``alone``, and user-paired Wilcoxon signed-rank tests over test users (each user's
metric averaged over the seeds both arms finished), computed here from ``kgrec.load``'s scores
with the run's own protocol (training and validation items masked). Then parameter counts and
the seconds to rank every item for every user (embeddings, scores, top 20; median of
``--repeats``) of the teacher and the student, measured in this process.

Finished runs (a ``metrics.json``) are skipped, so an interrupted table resumes.

    nice python bench/promptmm_results.py [--out /tmp/promptmm_runs] [--threads 1]
        [--dataset ../shared/data/tiktok] [--text-standin /tmp/tiktok3] [--recommender lightgcn]
        [--seeds 1,2,3,4,5] [--arms teacher,student,...] [--epochs 400] [--teacher-epochs 200]
        [--device cpu|cuda] [--set promptmm.negatives=5 ...] [--table-only] [--quick]

``--text-standin DIR`` copies the dataset to DIR (outside the repository) with issue 14's
stand-in third modality, ``numpy.random.default_rng(0).standard_normal((6710, 768),
dtype=numpy.float32)`` as ``text_feat.npy``, and runs on that copy. ``--quick`` is a smoke
test: a small synthetic dataset, 2 seeds, a few epochs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

import kgrec

REPO = Path(__file__).resolve().parents[1]
TIKTOK = REPO.parent / "shared" / "data" / "tiktok"
QUICK_DATA = "synthetic?num_users=300&num_items=200&seed=0"
METRICS = ("recall@20", "ndcg@20")

ARMS: dict[str, dict[str, Any]] = {
    # name: augmenter, promptmm settings, the teacher run it loads (None: trains nothing from one)
    "teacher": {"augmenter": "promptmm", "promptmm": {"stage": "teacher"}, "from": None},
    "teacher-noprompt": {"augmenter": "promptmm", "promptmm": {"stage": "teacher", "teacher": {"prompt": False}},
                         "from": None},
    "student": {"augmenter": "promptmm", "promptmm": {}, "from": "teacher"},
    "no-pair": {"augmenter": "promptmm", "promptmm": {"pair_kd": False}, "from": "teacher"},
    "no-list": {"augmenter": "promptmm", "promptmm": {"list_kd": False}, "from": "teacher"},
    "no-emb": {"augmenter": "promptmm", "promptmm": {"emb_kd": False}, "from": "teacher"},
    "no-prompt": {"augmenter": "promptmm", "promptmm": {"teacher": {"prompt": False}}, "from": "teacher-noprompt"},
    "prompt-distill": {"augmenter": "promptmm", "promptmm": {"prompt_tuning": "distillation"}, "from": "teacher"},
    "alone": {"augmenter": "none", "from": None},
    "pop": {"augmenter": "none", "recommender": "pop", "from": None},
    "ease": {"augmenter": "none", "recommender": "ease", "from": None},
}


def deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``a.b=1`` -> ``{"a": {"b": 1}}`` (values parsed as JSON where they parse)."""
    out: dict[str, Any] = {}
    for item in items:
        key, _, text = item.partition("=")
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        node = out
        *path, last = key.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def preset_backbone(recommender: str) -> dict[str, Any]:
    """The preset's backbone and training settings, for the arms without promptmm."""
    from kgrec_promptmm import PRESETS

    preset = PRESETS["tiktok"]
    return {recommender: {**preset["recommender"], **(preset.get(recommender) or {})},
            "train": dict(preset["train"])}


def arm_config(arm: str, seed: int, args: argparse.Namespace, runs: Path) -> dict[str, Any]:
    spec = ARMS[arm]
    recommender = spec.get("recommender", args.recommender)
    raw: dict[str, Any] = {"augmenter": spec["augmenter"], "recommender": recommender,
                           "dataset": args.dataset_spec}
    train = {"seed": seed, "device": args.device, "backend": args.backend}
    if spec["augmenter"] == "promptmm":
        raw["preset"] = "tiktok"
        promptmm = deep_merge({"teacher": {"epochs": args.teacher_epochs}}, spec["promptmm"])
        if spec["from"] is not None:
            promptmm["teacher_from"] = str(runs / spec["from"] / f"seed{seed}")
        raw["promptmm"] = promptmm
        if promptmm.get("stage") == "teacher":
            # the run is the teacher phase: it ends when the teacher's early stopping does
            train.update(epochs=args.teacher_epochs, patience=args.teacher_patience + 1)
        else:
            train.update(epochs=args.epochs, patience=args.patience)
    elif recommender in ("pop", "ease"):
        pass
    else:
        raw = deep_merge(raw, preset_backbone(recommender))
        train.update(epochs=args.epochs, patience=args.patience)
    raw["train"] = deep_merge(raw.get("train", {}), train)
    raw["eval"] = {"topk": [10, 20, 50]}
    # overrides for components this arm does not use (promptmm.* on `alone`) are left out
    shared = {"train", "eval", "split", "format", raw["augmenter"], raw["recommender"]}
    return deep_merge(raw, {k: v for k, v in args.overrides.items() if k in shared})


def order(arms: list[str]) -> list[str]:
    """Teachers before the students that load them."""
    first = [a for a in arms if ARMS[a]["from"] is None and ARMS[a]["augmenter"] == "promptmm"]
    return first + [a for a in arms if a not in first]


def text_standin(source: Path, target: Path) -> Path:
    """A copy of ``source`` with issue 14's stand-in text features (never in the repository)."""
    if REPO in target.resolve().parents or target.resolve() == REPO:
        sys.exit(f"--text-standin {target} is inside the repository; give a path outside it")
    if not (target / "text_feat.npy").exists():
        shutil.copytree(source, target, dirs_exist_ok=True)
        items = int(np.load(source / "image_feat.npy", mmap_mode="r").shape[0])
        text = np.random.default_rng(0).standard_normal((items, 768), dtype=np.float32)
        np.save(target / "text_feat.npy", text)
    return target


def run_arm(arm: str, seed: int, args: argparse.Namespace, runs: Path) -> Path:
    out = runs / arm / f"seed{seed}"
    if (out / "metrics.json").exists():
        return out
    if out.exists():
        shutil.rmtree(out)  # an unfinished run of an earlier invocation: start it again
    raw = arm_config(arm, seed, args, runs)
    print(f"$ {arm} seed {seed}: kgrec.run({json.dumps(raw)})", flush=True)
    start = time.perf_counter()
    kgrec.run(raw, out=out, progress=False, log=None)
    print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)
    return out


# ------------------------------------------------------------------ per-user metrics


def per_user_metrics(run_dir: Path) -> dict[str, np.ndarray]:
    """Per-user test Recall@20 and NDCG@20 (training and validation items masked), indexed by
    user (NaN for users without test items), from the run's selected state."""
    trained = kgrec.load(run_dir)
    data = trained.data
    masked_users = np.concatenate([data.train.users, data.valid.users])
    masked_items = np.concatenate([data.train.items, data.valid.items])
    test_users = np.unique(data.test.users)
    out = {m: np.full(data.num_users, np.nan) for m in METRICS}
    discounts = 1 / np.log2(np.arange(2, 22))
    row_of = np.full(data.num_users, -1)
    with torch.no_grad():
        emb = trained.embeddings()
        for start in range(0, test_users.shape[0], 1024):
            users = test_users[start:start + 1024]
            row_of[:] = -1
            row_of[users] = np.arange(users.shape[0])
            scores = trained.model.score(emb, torch.as_tensor(users)).float().numpy()
            rows = row_of[masked_users]
            scores[rows[rows >= 0], masked_items[rows >= 0]] = -np.inf
            top = np.argsort(-scores, axis=1, kind="stable")[:, :20]
            rows = row_of[data.test.users]
            relevant = np.zeros(scores.shape, dtype=bool)
            relevant[rows[rows >= 0], data.test.items[rows >= 0]] = True
            hits = np.take_along_axis(relevant, top, axis=1)
            count = relevant.sum(1)
            out["recall@20"][users] = hits.sum(1) / count
            out["ndcg@20"][users] = (hits * discounts).sum(1) / np.cumsum(discounts)[np.minimum(count, 20) - 1]
    return out


def user_paired(a: list[dict[str, np.ndarray]], b: list[dict[str, np.ndarray]], metric: str) -> str:
    """Wilcoxon signed-rank over users of the per-user metric averaged over seeds."""
    from scipy import stats

    with warnings.catch_warnings():  # users without test items are NaN in every seed
        warnings.simplefilter("ignore", RuntimeWarning)
        x = np.nanmean(np.stack([r[metric] for r in a]), axis=0)
        y = np.nanmean(np.stack([r[metric] for r in b]), axis=0)
    keep = ~np.isnan(x) & ~np.isnan(y)
    diff = x[keep] - y[keep]
    if not np.any(diff):
        return "n/a"
    p = stats.wilcoxon(x[keep], y[keep]).pvalue
    return f"{diff.mean():+.4f} (p {p:.2g}, {int((diff > 0).sum())}↑ {int((diff < 0).sum())}↓)"


# ------------------------------------------------------------------ efficiency


def ranking_seconds(embeddings_fn, score, num_users: int, repeats: int) -> tuple[float, float]:
    """Median seconds to compute the embeddings, and to compute them and rank every item for
    every user (top 20)."""
    encode, total = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.no_grad():
            emb = embeddings_fn()
            encode.append(time.perf_counter() - start)
            for first in range(0, num_users, 1024):
                users = torch.arange(first, min(first + 1024, num_users))
                torch.topk(score(emb, users), 20, dim=1)
        total.append(time.perf_counter() - start)
    return statistics.median(encode), statistics.median(total)


def efficiency(student_dir: Path, teacher_dir: Path, repeats: int) -> dict[str, Any]:
    student, teacher = kgrec.load(student_dir), kgrec.load(teacher_dir)
    model, aug = student.model, teacher.augmenter
    features = sum(int(f.numel()) for f in aug.features.values())
    s_encode, s_total = ranking_seconds(lambda: model.encode(model.view()), model.score,
                                        student.data.num_users, repeats)
    t_encode, t_total = ranking_seconds(aug.teacher_embeddings, model.score, teacher.data.num_users, repeats)
    return {"student_parameters": sum(p.numel() for p in model.parameters()),
            "teacher_parameters": aug.teacher_parameter_count(), "teacher_feature_inputs": features,
            "student_embedding_seconds": s_encode, "student_seconds": s_total,
            "teacher_embedding_seconds": t_encode, "teacher_seconds": t_total}


# ------------------------------------------------------------------ tables


def fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def seed_paired(a: dict[int, float], b: dict[int, float]) -> str:
    from scipy import stats

    common = sorted(set(a) & set(b))
    if len(common) < 2:
        return "n<2"
    x, y = [a[s] for s in common], [b[s] for s in common]
    if len({round(u - v, 12) for u, v in zip(x, y)}) == 1:
        return "n/a"
    return f"{stats.ttest_rel(x, y).pvalue:.2g}"


def tables(args: argparse.Namespace, runs: Path, arms: list[str], seeds: list[int]) -> dict[str, Any]:
    done = {arm: [s for s in seeds if (runs / arm / f"seed{s}" / "metrics.json").exists()] for arm in arms}
    metrics = {arm: {s: json.loads((runs / arm / f"seed{s}" / "metrics.json").read_text()) for s in done[arm]}
               for arm in arms}
    summary: dict[str, Any] = {"dataset": args.dataset_spec, "recommender": args.recommender, "arms": {}}
    print(f"\nDataset {args.dataset_spec}, backbone {args.recommender}; test metrics at the "
          "validation-selected epoch; p: paired t-test over seeds against `alone`.\n")
    print("| arm | seeds | " + " | ".join(f"test {m}" for m in METRICS) + " | p vs alone (R / N) | best epoch | s / epoch |")
    print("|---|---|" + "---|" * len(METRICS) + "---|---|---|")
    for arm in arms:
        if not done[arm]:
            print(f"| {arm} | 0 | " + " | ".join("not run" for _ in METRICS) + " | | | |")
            continue
        rows = metrics[arm]
        values = {m: {s: rows[s]["test"][m] for s in rows} for m in METRICS}
        ps = " / ".join(seed_paired(values[m], {s: r["test"][m] for s, r in metrics.get("alone", {}).items()})
                        for m in METRICS) if "alone" in arms and arm != "alone" else ""
        epochs = [r["best_epoch"] for r in rows.values()]
        seconds = statistics.mean(r.get("mean_epoch_seconds", float("nan")) for r in rows.values())
        print(f"| {arm} | {','.join(map(str, done[arm]))} | "
              + " | ".join(fmt(list(values[m].values())) for m in METRICS)
              + f" | {ps} | {min(epochs)}-{max(epochs)} | {seconds:.2f} |")
        summary["arms"][arm] = {"seeds": done[arm], "test": {m: values[m] for m in METRICS},
                                "best_epoch": dict(zip(rows, epochs))}
    # user-paired tests against the backbone alone and the teacher
    users = {arm: [per_user_metrics(runs / arm / f"seed{s}") for s in done[arm]]
             for arm in arms if done[arm] and ARMS[arm]["augmenter"] in ("promptmm", "none")}
    for base in ("alone", "teacher"):
        if base not in users:
            continue
        print(f"\nUser-paired against `{base}` (test users; each user's metric averaged over seeds; "
              "mean difference, Wilcoxon signed-rank p, users better / worse):\n")
        print("| arm | " + " | ".join(f"Δ {m}" for m in METRICS) + " |")
        print("|---|" + "---|" * len(METRICS))
        for arm, rows in users.items():
            if arm == base:
                continue
            common = sorted(set(done[arm]) & set(done[base]))
            a = [rows[done[arm].index(s)] for s in common]
            b = [users[base][done[base].index(s)] for s in common]
            if not a:
                continue
            cells = [user_paired(a, b, m) for m in METRICS]
            print(f"| {arm} | " + " | ".join(cells) + " |")
            summary["arms"][arm][f"user_paired_vs_{base}"] = dict(zip(METRICS, cells))
    # efficiency: teacher against student, same seed
    common = [s for s in done.get("student", []) if s in done.get("teacher", [])]
    if common:
        seed = common[0]
        eff = efficiency(runs / "student" / f"seed{seed}", runs / "teacher" / f"seed{seed}", args.repeats)
        summary["efficiency"] = {"seed": seed, "device": args.device, "threads": torch.get_num_threads(), **eff}
        print(f"\nEfficiency (seed {seed}, {args.device}, {torch.get_num_threads()} threads; full ranking "
              f"of every user, median of {args.repeats}):\n")
        print("| model | parameters | feature inputs (floats) | s: embeddings | s: embeddings + ranking all users |")
        print("|---|---|---|---|---|")
        print(f"| teacher | {eff['teacher_parameters']:,} | {eff['teacher_feature_inputs']:,} | "
              f"{eff['teacher_embedding_seconds']:.4f} | {eff['teacher_seconds']:.3f} |")
        print(f"| student ({args.recommender}) | {eff['student_parameters']:,} | 0 | "
              f"{eff['student_embedding_seconds']:.4f} | {eff['student_seconds']:.3f} |")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/promptmm_runs"))
    parser.add_argument("--dataset", default=str(TIKTOK))
    parser.add_argument("--text-standin", type=Path, default=None,
                        help="run on a copy of the dataset at this path with stand-in text features")
    parser.add_argument("--recommender", default="lightgcn")
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--arms", default="teacher,teacher-noprompt,student,no-pair,no-list,no-emb,no-prompt,"
                                          "prompt-distill,alone,pop,ease")
    parser.add_argument("--epochs", type=int, default=400, help="most epochs of a student / backbone run")
    parser.add_argument("--patience", type=int, default=16)
    parser.add_argument("--teacher-epochs", type=int, default=200, help="most epochs of a teacher run")
    parser.add_argument("--teacher-patience", type=int, default=8, help="the preset's teacher patience")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (on a shared CPU more than the free cores is much slower)")
    parser.add_argument("--set", dest="sets", action="append", default=[], help="KEY=VALUE laid over every run")
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smoke test on small synthetic data")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # TikTok's release has a few cold-start validation/test users; kgrec warns on every load
    warnings.filterwarnings("ignore", message=".*cold start.*")
    if args.quick:
        args.dataset, args.seeds = QUICK_DATA, args.seeds if args.seeds != "1,2,3,4,5" else "1,2"
        args.epochs, args.teacher_epochs, args.patience, args.repeats = 3, 2, 3, 2
        args.sets = ["promptmm.teacher.batch_size=256", "train.batch_size=256"] + args.sets
    args.overrides = parse_sets(args.sets)
    if args.text_standin is not None:
        args.dataset = str(text_standin(Path(args.dataset), args.text_standin))
    args.dataset_spec = args.dataset
    seeds = [int(s) for s in args.seeds.split(",")]
    registered = {name for kind in ("recommenders",) for name in _registered(kind)}
    arms = [a for a in args.arms.split(",") if ARMS[a].get("recommender") is None or ARMS[a]["recommender"] in registered]
    skipped = [a for a in args.arms.split(",") if a not in arms]
    if skipped:
        print(f"(not registered in this kgrec, skipped: {', '.join(skipped)})")
    needed = {ARMS[a]["from"] for a in arms if ARMS[a]["from"]}
    arms = order(sorted(needed - set(arms)) + arms)
    runs = args.out
    if not args.table_only:
        for seed in seeds:
            for arm in arms:
                run_arm(arm, seed, args, runs)
    summary = tables(args, runs, arms, seeds)
    (runs / "summary.json").parent.mkdir(parents=True, exist_ok=True)
    (runs / "summary.json").write_text(json.dumps(summary, indent=1, default=float))
    print(f"\nwrote {runs / 'summary.json'}")


def _registered(kind: str) -> set[str]:
    from importlib.metadata import entry_points

    return {ep.name for ep in entry_points(group=f"kgrec.{kind}")}


if __name__ == "__main__":
    main()
