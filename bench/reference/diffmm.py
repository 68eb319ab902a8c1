"""Run HKUDS/DiffMM (ACM MM 2024) as published, on a kgrec dataset, and tabulate its epochs.

Get the code (none of it is in this project): ``git clone --bare
https://github.com/HKUDS/DiffMM`` (or the ``fetch`` tool's ``github:HKUDS/DiffMM``);
reference-runs.md measured fae20e642aee (2024-07-21; it prints "fae20e642aea", a typo). The run uses a scratch copy of
HEAD without the stale ``Utils/__pycache__`` the repository ships, and only mechanical patches:
``.cuda()`` -> ``.cpu()``, SciPy's removed ``.A`` -> ``.toarray()``, and the unused
``import setproctitle`` commented out when that package is not installed.

Data: ``--dataset`` is a folder in DiffMM's format (``trnMat.pkl``, ``tstMat.pkl``, optional
``valMat.pkl``, ``<modality>_feat.npy``), by default TikTok (``../shared/data/tiktok``, the
release's files). Its files replace the repository's in the scratch copy's
``Datasets/<recipe>/``. TikTok's 768-d text features are not published with the data here, so
when the folder has no ``text_feat.npy`` the stand-in of reference-runs.md,
``numpy.random.default_rng(0).standard_normal((items, 768), dtype=numpy.float32)``, is saved as
``text_feat.npy`` in the scratch copy (never in this repository): the README's TikTok command
runs with three modalities (image, text stand-in, audio). The reference never reads
``valMat.pkl``; it tests every epoch. The README's command is run with ``--epoch N``::

    .venv/bin/python bench/reference/diffmm.py --repo /path/to/DiffMM.git --epochs 50 --threads 1

Outputs in ``bench/reference/results/diffmm-<dataset>/``: ``log.txt``, ``epochs.csv`` (per
epoch: phase seconds, losses as the code logs them, test recall@20 / ndcg@20 /
precision@20) and ``run.json``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.reference.common import (HarnessError, Patch, Reference, SHARED_DATA, apply_patches, first_matches,
                                    base_parser, cpu_patches, describe_files, execute, extra_args,
                                    load_matrix, parse_timelogger, readme_command, set_flag)

COMMIT = "fae20e642aee"
RECIPES = ("tiktok", "baby", "sports")
"""The datasets the README has a command for (``python Main.py --data <recipe> ...``)."""

EXPECTED_TIKTOK = {"users": 9308, "items": 6710, "train": 59541, "val": 3051, "test": 6130}
"""The TikTok release's counts (../shared/data/README.md)."""

CUDA_CALLS = {"DataHandler.py": 2, "Main.py": 16, "Model.py": 12, "Utils/Utils.py": 1}
"""``.cuda()`` calls per file at the measured commit (a changed count stops the run)."""

SCIPY_A = Patch("DataHandler.py", "torch.FloatTensor(self.trnMat.A)",
                "torch.FloatTensor(self.trnMat.toarray())", 1,
                "SciPy >= 1.14 removed the .A alias of toarray()")

SETPROCTITLE = Patch("Main.py", "\nimport setproctitle\n",
                     "\n# import setproctitle  (unused; commented out by kgrec's reference harness)\n",
                     1, "setproctitle is imported but never used, and is not installed here")

TEXT_STANDIN_DIM = 768


def text_standin(items: int, dim: int = TEXT_STANDIN_DIM):
    """The third TikTok modality of reference-runs.md (the published one is not available)."""
    import numpy as np

    return np.random.default_rng(0).standard_normal((items, dim), dtype=np.float32)


def prepare_multimodal(src: str | Path, dst: str | Path, force_text_standin: bool = False
                       ) -> dict[str, Any]:
    """Copy a DiffMM-format folder into ``dst`` (which is emptied of matrices and features
    first), adding the text stand-in when ``src`` has no ``text_feat.npy``. Returns counts."""
    import numpy as np

    src, dst = Path(src), Path(dst)
    if not (src / "trnMat.pkl").is_file() or not (src / "tstMat.pkl").is_file():
        raise HarnessError(f"{src}: not in DiffMM's format (trnMat.pkl, tstMat.pkl, *_feat.npy)")
    dst.mkdir(parents=True, exist_ok=True)
    for stale in list(dst.glob("*Mat.pkl")) + list(dst.glob("*_feat.npy*")):
        stale.unlink()
    names = [n for n in ("trnMat.pkl", "valMat.pkl", "tstMat.pkl") if (src / n).is_file()]
    features = sorted(p.name for p in src.glob("*_feat.npy"))
    if force_text_standin and "text_feat.npy" in features:
        features.remove("text_feat.npy")
    for name in names + features:
        shutil.copyfile(src / name, dst / name)
    counts: dict[str, Any] = {}
    for name, key in (("trnMat.pkl", "train"), ("valMat.pkl", "val"), ("tstMat.pkl", "test")):
        if name in names:
            matrix = load_matrix(dst / name)
            counts["users"], counts["items"] = (int(x) for x in matrix.shape)
            counts[key] = int((matrix.tocsr() != 0).nnz)
    info: dict[str, Any] = {"source": str(src.resolve()), "counts": counts}
    if "text_feat.npy" not in features:
        np.save(dst / "text_feat.npy", text_standin(counts["items"]))
        info["text_feat.npy"] = (f"stand-in: numpy.random.default_rng(0).standard_normal(("
                                 f"{counts['items']}, {TEXT_STANDIN_DIM}), dtype=numpy.float32)")
        features.append("text_feat.npy")
    info["features"] = {n: list(np.load(dst / n, mmap_mode="r").shape) for n in sorted(features)}
    info["files"] = describe_files(dst, names + sorted(features))
    return info


def parse_log(text: str, args: list[str]) -> list[dict[str, Any]]:
    topk = int(args[args.index("--topk") + 1]) if "--topk" in args else 20
    return parse_timelogger(text, topk, "Start to re-build UI matrix", "UI matrix built!",
                            {"Recall": "recall", "NDCG": "ndcg", "Precision": "precision"})


def reported(text: str) -> dict[str, Any]:
    patterns = {"user_item": r"USER (\d+) ITEM (\d+)", "train_interactions": r"NUM OF INTERACTIONS (\d+)",
                "best": r"Best epoch :\s+(\d+)\s+, Recall :\s+(\S+)\s+, NDCG :\s+(\S+)\s+, Precision (\S+)"}
    return first_matches(text, patterns)


REFERENCE = Reference(
    name="diffmm", repo="HKUDS/DiffMM", commit=COMMIT,
    packages=("torch", "numpy", "scipy", "tqdm", "setproctitle"),
    parse=parse_log, select=lambda r: r.get("test_recall@20", float("-inf")),
    selected_by="test recall@20 (Main.py keeps the epoch with the highest test Recall)",
    reported=reported)


def prepare(ns: argparse.Namespace, checkout: Any) -> tuple[str, list[str], dict[str, Any]]:
    root: Path = checkout.dest
    patches = [SCIPY_A] + (cpu_patches(CUDA_CALLS) if ns.device == "cpu" else [])
    has_spt = subprocess.run([ns.python, "-c", "import setproctitle"], capture_output=True).returncode == 0
    if not has_spt:
        patches.append(SETPROCTITLE)
    info: dict[str, Any] = {"patches": apply_patches(root, patches)}
    data = prepare_multimodal(ns.dataset, root / "Datasets" / ns.recipe, ns.force_text_standin)
    if Path(ns.dataset).resolve().name == "tiktok":
        got = {k: data["counts"].get(k) for k in EXPECTED_TIKTOK}
        data["counts_match_shared_data_readme"] = got == EXPECTED_TIKTOK
        if got != EXPECTED_TIKTOK:
            raise HarnessError(f"TikTok counts {got} differ from {EXPECTED_TIKTOK}")
    info["data"] = data
    args = readme_command(root / "README.md", "Main.py", "--data", ns.recipe)
    info["readme_command"] = "python Main.py " + " ".join(args)
    if ns.epochs is not None:
        args = set_flag(args, "--epoch", str(ns.epochs))
    args += extra_args(ns.extra)
    return "Main.py", args, info


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(REFERENCE, __doc__, "tiktok", str(SHARED_DATA / "tiktok"), RECIPES)
    parser.add_argument("--force-text-standin", action="store_true",
                        help="use the random text stand-in even if the dataset has text_feat.npy")
    ns = parser.parse_args(argv)
    name = Path(ns.dataset).resolve().name
    return execute(REFERENCE, ns, prepare, f"diffmm-{name}")


if __name__ == "__main__":
    sys.exit(main())
