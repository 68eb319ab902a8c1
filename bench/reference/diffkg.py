"""Run HKUDS/DiffKG (WSDM 2024) as published, on a kgrec dataset, and tabulate its epochs.

Get the code (none of it is in this project): ``git clone --bare
https://github.com/HKUDS/DiffKG`` (or the ``fetch`` tool's ``github:HKUDS/DiffKG``);
reference-runs.md measured commit c92465940f5e (2024-10-24). The run uses a scratch copy of
HEAD with only mechanical patches (``.cuda()`` -> ``.cpu()``, SciPy's removed ``.A`` ->
``.toarray()``, a dataset-name fallback when the data is not one of the README's three) and a
stand-in ``torch_scatter`` module when the real one is not importable.

Data: ``--dataset`` is Last.FM HetRec (``../shared/data/lastfm-hetrec``, default), converted by
:func:`convert_lastfm_hetrec` exactly as reference-runs.md describes, or a folder already in
DiffKG's format (``trnMat.pkl``, ``tstMat.pkl``, ``kg.txt``), copied as it is. The converted
files go to the scratch copy's ``Datasets/<recipe>/`` (the blobs the mirror lacks), never into
this repository. The README's Last-FM command is then run with ``--epoch N``::

    .venv/bin/python bench/reference/diffkg.py --repo /path/to/DiffKG.git --epochs 25 --threads 1

Outputs in ``bench/reference/results/diffkg-<dataset>/``: ``log.txt`` (the run's stdout and
stderr), ``epochs.csv`` (per epoch: phase seconds, losses as the code logs them, test
recall@20 / ndcg@20) and ``run.json`` (command, commit, patches, data files, machine, peak RSS,
best epoch selected on test as the code does, last epoch).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.reference.common import (HarnessError, Patch, Reference, SHARED_DATA, apply_patches, first_matches,
                                    base_parser, cpu_patches, describe_files, dump_matrix, execute,
                                    extra_args, parse_timelogger, readme_command, set_flag,
                                    torch_scatter_importable, write_torch_scatter_standin)

COMMIT = "c92465940f5e"
RECIPES = ("lastfm", "mind", "alibaba")
"""The datasets the README has a command for (``python Main.py --data <recipe> ...``)."""

EXPECTED_LASTFM_HETREC = {"users": 1867, "items": 3846, "train": 16914, "test": 4254,
                          "entities": 9366, "relations": 60, "triples": 15518}
"""reference-runs.md's counts for Last.FM HetRec as converted for DiffKG."""

CUDA_CALLS = {"DataHandler.py": 2, "Main.py": 14, "Model.py": 14, "Utils/Utils.py": 1}
"""``.cuda()`` calls per file at the measured commit (a changed count stops the run)."""

SCIPY_A = Patch("DataHandler.py", "DiffusionData(self.kg_matrix.A)",
                "DiffusionData(self.kg_matrix.toarray())", 1,
                "SciPy >= 1.14 removed the .A alias of toarray()")

OTHER_NAME = Patch(
    "DataHandler.py",
    "\t\telif args.data == 'lastfm':\n\t\t\tpredir = './Datasets/lastfm/'\n",
    "\t\telif args.data == 'lastfm':\n\t\t\tpredir = './Datasets/lastfm/'\n"
    "\t\telse:\n\t\t\tpredir = './Datasets/%s/' % args.data\n", 1,
    "the DataHandler knows only mind/alibaba/lastfm: any other name reads ./Datasets/<name>/")


OBSERVE_KG = [
    Patch("Main.py", "\t\t\tgraph_tensor = torch.tensor(denoised_edges)\n",
          "\t\t\tgraph_tensor = torch.tensor(denoised_edges); log('kgrec-harness: "
          "rebuild_pairs=%d rebuilt_kg_edges=%d' % (len(h_list), len(denoised_edges)))\n", 1,
          "observation only (--log-kg-size): print the rebuild's (h, t) pairs (top-k plus "
          "reverse) and how many of them are KG edges, on the same line, computing nothing"),
    Patch("Main.py", "\t\t\tself.generatedKG = denoisedKG\n",
          "\t\t\tself.generatedKG = denoisedKG; log('kgrec-harness: masked_kg_edges=%d' % "
          "denoisedKG[1].shape[0])\n", 1,
          "observation only (--log-kg-size): print the rebuilt KG's edges after the keepRate mask"),
]
"""Optional, print-only: the rebuilt KG's size per epoch (issue 14 compares it with kgrec's).
Every edge the rebuild keeps is an edge of the original KG (it looks the pair up in
``relation_dict``), so its overlap with the original KG is its size."""


def _lines(path: Path) -> list[list[str]]:
    """Tab separated rows of a text file with LF or CRLF endings, blank lines dropped."""
    return [line.split("\t") for line in path.read_text().splitlines() if line.strip()]


def convert_lastfm_hetrec(src: str | Path, dst: str | Path, seed: int = 2024,
                          test_ratio: float = 0.2, min_interactions: int = 2) -> dict[str, Any]:
    """Write DiffKG's ``trnMat.pkl``, ``tstMat.pkl`` and ``kg.txt`` for Last.FM HetRec.

    As reference-runs.md describes: items are the artists of ``item_index2entity_id.txt`` in
    file order, item ``i`` = entity ``i``; the KG's other entities are numbered in first-seen
    order (head, then tail, file order) and relations in first-seen order. Interactions are the
    ``user_artists.dat`` rows whose artist has an item (play counts ignored); users with at
    least ``min_interactions`` of them are kept and numbered in ascending original id. One
    ``numpy.random.default_rng(seed)`` shuffles each user's items (in ascending item order,
    users in ascending order), and the first ``max(1, round(test_ratio * n))`` go to test.
    The matrices are users x items float32 ``scipy.sparse.coo_matrix`` pickles (the dtype
    DiffKG casts to anyway); ``kg.txt`` holds ``head relation tail`` per line, every triple in
    file order (DiffKG de-duplicates them itself). Returns the counts.
    """
    import numpy as np
    import scipy.sparse as sp

    src, dst = Path(src), Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    index = _lines(src / "item_index2entity_id.txt")
    artist_item = {int(row[0]): i for i, row in enumerate(index)}
    entity = {int(row[1]): i for i, row in enumerate(index)}
    if len(artist_item) != len(index) or len(entity) != len(index):
        raise HarnessError(f"{src / 'item_index2entity_id.txt'}: an artist or entity is listed twice")
    relation: dict[str, int] = {}
    triples = []
    for row in _lines(src / "kg.txt"):
        head, name, tail = int(row[0]), row[1].strip(), int(row[2])
        for e in (head, tail):
            entity.setdefault(e, len(entity))
        relation.setdefault(name, len(relation))
        triples.append((entity[head], relation[name], entity[tail]))
    per_user: dict[int, set[int]] = defaultdict(set)
    for row in _lines(src / "user_artists.dat")[1:]:  # header userID artistID weight
        item = artist_item.get(int(row[1]))
        if item is not None:
            per_user[int(row[0])].add(item)
    users = [u for u in sorted(per_user) if len(per_user[u]) >= min_interactions]
    rng = np.random.default_rng(seed)
    train_uv: list[tuple[int, int]] = []
    test_uv: list[tuple[int, int]] = []
    for uid, user in enumerate(users):
        items = np.array(sorted(per_user[user]), dtype=np.int64)
        items = items[rng.permutation(len(items))]
        k = max(1, round(test_ratio * len(items)))
        test_uv += [(uid, int(i)) for i in items[:k]]
        train_uv += [(uid, int(i)) for i in items[k:]]
    shape = (len(users), len(index))
    for name, pairs in (("trnMat.pkl", train_uv), ("tstMat.pkl", test_uv)):
        rows = np.array([p[0] for p in pairs], dtype=np.int64)
        cols = np.array([p[1] for p in pairs], dtype=np.int64)
        matrix = sp.coo_matrix((np.ones(len(pairs), dtype=np.float32), (rows, cols)), shape=shape,
                               dtype=np.float32)
        dump_matrix(dst / name, matrix)
    (dst / "kg.txt").write_text("".join(f"{h} {r} {t}\n" for h, r, t in triples))
    return {"users": len(users), "items": len(index), "train": len(train_uv),
            "test": len(test_uv), "entities": len(entity), "relations": len(relation),
            "triples": len(triples)}


def prepare_data(dataset: Path, dst: Path) -> dict[str, Any]:
    """Convert (Last.FM HetRec) or copy (DiffKG format) ``dataset`` into ``dst``."""
    names = ("trnMat.pkl", "tstMat.pkl", "kg.txt")
    if all((dataset / n).is_file() for n in names):
        dst.mkdir(parents=True, exist_ok=True)
        for n in names:
            shutil.copyfile(dataset / n, dst / n)
        info: dict[str, Any] = {"conversion": "copied as it is (DiffKG format)"}
    elif (dataset / "item_index2entity_id.txt").is_file():
        counts = convert_lastfm_hetrec(dataset, dst)
        info = {"conversion": "convert_lastfm_hetrec (reference-runs.md: seed 2024, 20 % test, "
                              "users with >= 2 interactions)", "counts": counts,
                "counts_match_reference_runs_md": counts == EXPECTED_LASTFM_HETREC}
        if dataset.name == "lastfm-hetrec" and counts != EXPECTED_LASTFM_HETREC:
            raise HarnessError(f"converted counts {counts} differ from reference-runs.md's "
                               f"{EXPECTED_LASTFM_HETREC}")
    else:
        raise HarnessError(f"{dataset}: neither Last.FM HetRec (item_index2entity_id.txt) nor "
                           "DiffKG's format (trnMat.pkl, tstMat.pkl, kg.txt)")
    info["source"] = str(dataset.resolve())
    info["files"] = describe_files(dst, names)
    return info


def parse_log(text: str, args: list[str]) -> list[dict[str, Any]]:
    topk = int(args[args.index("--topk") + 1]) if "--topk" in args else 20
    return parse_timelogger(text, topk, "Start to re-build kg", "KG built!",
                            {"Recall": "recall", "NDCG": "ndcg"})


def reported(text: str) -> dict[str, Any]:
    """What DiffKG prints about the data it read and its final (test-selected) best epoch."""
    patterns = {"user_item": r"USER (\d+) ITEM (\d+)", "train_interactions": r"NUM OF INTERACTIONS (\d+)",
                "kg_shape": r"kg shape:\s+\((\d+), (\d+)\)", "kg_edges": r"number of edges in KG:\s+(\d+)",
                "best": r"Best epoch :\s+(\d+)\s+, Recall :\s+(\S+)\s+, NDCG :\s+(\S+)"}
    return first_matches(text, patterns)


REFERENCE = Reference(
    name="diffkg", repo="HKUDS/DiffKG", commit=COMMIT,
    packages=("torch", "numpy", "scipy", "tqdm", "torch_scatter"),
    parse=parse_log, select=lambda r: r.get("test_recall@20", float("-inf")),
    selected_by="test recall@20 (Main.py keeps the epoch with the highest test Recall)",
    reported=reported)


def prepare(ns: argparse.Namespace, checkout: Any) -> tuple[str, list[str], dict[str, Any]]:
    root: Path = checkout.dest
    patches = [SCIPY_A] + (cpu_patches(CUDA_CALLS) if ns.device == "cpu" else [])
    data_name = ns.recipe
    if ns.data_name:
        data_name = ns.data_name
    if data_name not in RECIPES:
        patches.append(OTHER_NAME)
    if ns.log_kg_size:
        patches += OBSERVE_KG
    applied = apply_patches(root, patches)
    info: dict[str, Any] = {"patches": applied}
    if torch_scatter_importable(ns.python):
        info["torch_scatter"] = "the installed package"
    else:
        write_torch_scatter_standin(root)
        info["torch_scatter"] = ("stand-in torch_scatter.py written into the copy "
                                 "(common.TORCH_SCATTER_STANDIN; `common.py selfcheck` tests it)")
    dataset = Path(ns.dataset)
    info["data"] = prepare_data(dataset, root / "Datasets" / data_name)
    args = readme_command(root / "README.md", "Main.py", "--data", ns.recipe)
    info["readme_command"] = "python Main.py " + " ".join(args)
    args = set_flag(args, "--data", data_name)
    if ns.epochs is not None:
        args = set_flag(args, "--epoch", str(ns.epochs))
    args += extra_args(ns.extra)
    return "Main.py", args, info


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(REFERENCE, __doc__, "lastfm", str(SHARED_DATA / "lastfm-hetrec"), RECIPES)
    parser.add_argument("--data-name", default=None,
                        help="folder name under Datasets/ and --data value (default: the recipe, "
                             "so the README command runs verbatim)")
    parser.add_argument("--log-kg-size", action="store_true",
                        help="add two print-only lines to Main.py that log the rebuilt KG's edge "
                             "counts per epoch (columns rebuild_pairs, rebuilt_kg_edges, "
                             "masked_kg_edges); they compute nothing and draw no random numbers")
    ns = parser.parse_args(argv)
    name = Path(ns.dataset).resolve().name
    return execute(REFERENCE, ns, prepare, f"diffkg-{name}")


if __name__ == "__main__":
    sys.exit(main())
