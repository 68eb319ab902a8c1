"""Run HKUDS/RecDiff (CIKM 2024) as published and tabulate its epochs.

Get the code (none of it is in this project): ``git clone --bare
https://github.com/HKUDS/RecDiff`` (or the ``fetch`` tool's ``github:HKUDS/RecDiff``);
reference-runs.md measured commit c73dc99858cd (2025-06-16). The run uses a scratch copy of
HEAD, prepared as the README's quick start says (``mkdir`` of ``History/<name>`` and
``Model/<name>``, ``dataset.pkl.zip`` unzipped), with one mechanical patch: ``main.py`` picks
``self.device`` (the CPU without a GPU) but moves every batch with ``.cuda()``; those five calls
become ``.to(self.device)``.

Data: by default the repository's own Ciao (``datasets/ciao/dataset.pkl.zip``). ``--dataset``
may name a folder in RecDiff's format (``dataset.pkl`` or ``dataset.pkl.zip``: a dict with
``train``/``val``/``test``/``trust``/``userCount``/``itemCount``, which kgrec also reads); it
is copied to ``datasets/<--data-name>/`` of the scratch copy, and for a name the
``DataHander`` does not know, a fallback branch reads ``./datasets/<name>/dataset.pkl``.
The command is ``scripts/run_<recipe>.sh``'s, with ``--n_epoch N``::

    .venv/bin/python bench/reference/recdiff.py --repo /path/to/RecDiff.git --epochs 150 --threads 1

Outputs in ``bench/reference/results/recdiff-<dataset>/``: ``log.txt``, ``epochs.csv`` (per
epoch: train/test seconds, losses as per-batch means and as the code's per-epoch sums, test
recall@20 / ndcg@20 every 5 epochs) and ``run.json``. RecDiff keeps the tested epoch with the
highest Recall + NDCG on TEST and stops after ``patience`` (20) tests without a better one.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.reference.common import (HarnessError, Patch, Reference, _MatrixUnpickler,
                                    apply_patches, base_parser, describe_files, execute,
                                    extra_args, log_lines, script_command, set_flag)

COMMIT = "c73dc99858cd"
RECIPES = ("ciao", "epinions", "yelp")
"""The datasets with a ``scripts/run_<name>.sh``."""

DEVICE = Patch("main.py", ".cuda()", ".to(self.device)", 5,
               "device selection: Coach picks self.device (cpu without a GPU) but moves each "
               "batch with .cuda()")


def other_name(name: str) -> Patch:
    return Patch(
        "DataHander.py",
        "        elif args.dataset == 'epinions':\n            predir = './datasets/epinions/'\n"
        "            self.datapath = predir + 'dataset.pkl'\n",
        "        elif args.dataset == 'epinions':\n            predir = './datasets/epinions/'\n"
        "            self.datapath = predir + 'dataset.pkl'\n        else:\n"
        "            predir = './datasets/%s/' % args.dataset\n"
        "            self.datapath = predir + 'dataset.pkl'\n", 1,
        f"the DataHandler knows only yelp/ciao/epinions: '{name}' reads ./datasets/{name}/")


def dataset_counts(pkl: Path) -> dict[str, Any]:
    """Users, items and nonzeros of a RecDiff ``dataset.pkl`` (numpy/scipy classes only)."""
    with open(pkl, "rb") as handle:
        data = _MatrixUnpickler(handle).load()
    out: dict[str, Any] = {"userCount": int(data["userCount"]), "itemCount": int(data["itemCount"])}
    for key in ("train", "val", "test", "trust"):
        if key in data:
            out[f"{key}_nnz"] = int(data[key].nnz)
            out[f"{key}_shape"] = list(data[key].shape)
    return out


def prepare_data(root: Path, name: str, dataset: Path | None) -> dict[str, Any]:
    """Put ``dataset.pkl`` under ``datasets/<name>/`` (unzipping as the README does)."""
    folder = root / "datasets" / name
    if dataset is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in ("dataset.pkl", "dataset.pkl.zip"):
            (folder / stale).unlink(missing_ok=True)
        if (dataset / "dataset.pkl").is_file():
            shutil.copyfile(dataset / "dataset.pkl", folder / "dataset.pkl")
        elif (dataset / "dataset.pkl.zip").is_file():
            shutil.copyfile(dataset / "dataset.pkl.zip", folder / "dataset.pkl.zip")
        else:
            raise HarnessError(f"{dataset}: no dataset.pkl or dataset.pkl.zip (RecDiff's format)")
        source = str(dataset.resolve())
    else:
        source = f"the repository's datasets/{name}/"
    zipped = folder / "dataset.pkl.zip"
    if not (folder / "dataset.pkl").is_file():
        if not zipped.is_file():
            raise HarnessError(f"{zipped} is not in the copy (a blob the mirror lacks?); "
                               "pass --dataset a folder holding dataset.pkl")
        with zipfile.ZipFile(zipped) as archive:  # README: find . -name "*.zip" -exec unzip
            with archive.open("dataset.pkl") as src, open(folder / "dataset.pkl", "wb") as dst:
                shutil.copyfileobj(src, dst)
    names = ["dataset.pkl"] + (["dataset.pkl.zip"] if zipped.is_file() else [])
    return {"source": source, "files": describe_files(folder, names),
            "counts": dataset_counts(folder / "dataset.pkl")}


def parse_log(text: str, args: list[str]) -> list[dict[str, Any]]:
    """Per-epoch rows from RecDiff's prints (``epoch`` counts from 1, as the code does)."""
    rows: dict[int, dict[str, Any]] = {}
    train_s = eval_s = batches = None
    end = 0.0  # elapsed seconds at the end of the previous epoch (its test included)
    for line in log_lines(text):
        if (bar := re.search(r"\|\s*(\d+)/(\d+) \[", line)):
            batches = int(bar.group(2))
        if (m := re.search(r"Training complete in ([\d.]+)s", line)):
            train_s = float(m.group(1))
        elif (m := re.search(r"epoch (\d+) done! elapsed ([\d.]+)\.s, epoch_losses \[(.*?)\]", line)):
            epoch, elapsed = int(m.group(1)), float(m.group(2))
            sums = [float(v) for v in m.group(3).split(",")]
            row: dict[str, Any] = {"epoch": epoch, "ref_epoch": epoch, "train_seconds": train_s}
            names = ("loss", "bpr_loss", "reg_loss", "diff_loss")
            if batches:
                row["batches"] = batches
                row.update({n: round(v / batches, 6) for n, v in zip(names, sums)})
            row.update({f"{n}_sum": v for n, v in zip(names, sums)})
            row["wall_seconds"] = round(elapsed - end, 3)
            row["_elapsed"] = end = elapsed
            rows[epoch] = row
            train_s = None
        elif (m := re.search(r"Testing complete in ([\d.]+)s", line)):
            eval_s = float(m.group(1))
        elif (m := re.search(r"\+ epoch (\d+) tested, elapsed ([\d.]+)s, Recall@(\d+): ([\d.]+), "
                             r"NDCG@(\d+): ([\d.]+)", line)):
            epoch, elapsed = int(m.group(1)), float(m.group(2))
            row = rows.get(epoch)
            if row is None:
                continue
            row["eval_seconds"] = eval_s
            row["wall_seconds"] = round(elapsed - (row["_elapsed"] - row["wall_seconds"]), 3)
            row[f"test_recall@{m.group(3)}"] = float(m.group(4))
            row[f"test_ndcg@{m.group(5)}"] = float(m.group(6))
            end = elapsed
            eval_s = None
    out = [rows[k] for k in sorted(rows)]
    for row in out:
        row.pop("_elapsed", None)
    return out


def reported(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if (m := re.search(r"Best\s+Recall@(\d+) ([\d.]+), NDCG@\d+ ([\d.]+)", text)):
        out["best"] = {"topk": int(m.group(1)), "recall": float(m.group(2)),
                       "ndcg": float(m.group(3))}
    if (m := re.search(r"Early stop at epoch (\d+), best epoch (\d+)", text)):
        out["early_stop"] = {"epoch": int(m.group(1)), "best_epoch": int(m.group(2))}
    return out


REFERENCE = Reference(
    name="recdiff", repo="HKUDS/RecDiff", commit=COMMIT,
    packages=("torch", "dgl", "numpy", "scipy", "networkx", "tqdm"),
    parse=parse_log,
    select=lambda r: r.get("test_recall@20", float("-inf")) + r.get("test_ndcg@20", 0.0),
    selected_by="test recall@20 + ndcg@20 (main.py keeps the tested epoch with the highest sum)",
    reported=reported)


def prepare(ns: argparse.Namespace, checkout: Any) -> tuple[str, list[str], dict[str, Any]]:
    root: Path = checkout.dest
    name = ns.data_name or ns.recipe
    patches = [DEVICE] + ([other_name(name)] if name not in RECIPES else [])
    info: dict[str, Any] = {"patches": apply_patches(root, patches)}
    for folder in ("History", "Model"):  # README: mkdir -p {History,Models}/...; main.py
        (root / folder / name).mkdir(parents=True, exist_ok=True)  # writes History/, Model/
    info["data"] = prepare_data(root, name, Path(ns.dataset) if ns.dataset else None)
    script = root / "scripts" / f"run_{ns.recipe}.sh"
    args = script_command(script)
    info["script_command"] = f"{script.relative_to(root)}: python main.py " + " ".join(args)
    args = set_flag(args, "--dataset", name)
    if name != ns.recipe:
        args = set_flag(args, "--model_dir", f"./Model/{name}/")
    if ns.epochs is not None:
        args = set_flag(args, "--n_epoch", str(ns.epochs))
    args += extra_args(ns.extra)
    return "main.py", args, info


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(REFERENCE, __doc__, "ciao", None, RECIPES)
    parser.add_argument("--data-name", default=None,
                        help="folder name under datasets/ and --dataset value (default: the recipe)")
    ns = parser.parse_args(argv)
    label = Path(ns.dataset).resolve().name if ns.dataset else ns.recipe
    return execute(REFERENCE, ns, prepare, f"recdiff-{label}")


if __name__ == "__main__":
    sys.exit(main())
