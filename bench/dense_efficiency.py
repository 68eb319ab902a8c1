"""How close kgrec's dense denoiser phases run to this machine's matmul peak (issue 15, goal 2).

Measures, in one process, the plain ``torch.matmul`` rate (square 4096 products and the
denoiser's own two layer shapes), then times the row diffusion's two dense phases at the
reference's settings: DiffKG over every entity row and column of Last.FM HetRec's KG
(9,366 x 9,366, as HKUDS/DiffKG), and DiffMM over every user row of TikTok (9,308 x 6,710,
one denoiser per modality, three modalities). FLOPs are counted per phase:

- training pass, per row: input layer forward and weight gradient ``4 in h``, output layer
  forward, weight and input gradient ``6 h out`` (the input needs no gradient);
- reverse chain, per row and step: ``2 in h + 2 h out``.

Prints one Markdown table: phase, seconds, GFLOP, GFLOP/s and the share of the peak.

    python bench/dense_efficiency.py [--threads 2] [--precision float32|bfloat16] [--cases diffkg,diffmm]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def rate(fn, flops: float, repeat: int = 3) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return flops * repeat / (time.perf_counter() - start) / 1e9


def peak(dtype: torch.dtype, width: int, hidden: int = 1000, batch: int = 1024) -> dict[str, float]:
    a, b = torch.randn(4096, 4096, dtype=dtype), torch.randn(4096, 4096, dtype=dtype)
    x, w1 = torch.randn(batch, width, dtype=dtype), torch.randn(hidden, width, dtype=dtype)
    h, w2 = torch.randn(batch, hidden, dtype=dtype), torch.randn(width, hidden, dtype=dtype)
    return {"square 4096": rate(lambda: a @ b, 2 * 4096 ** 3),
            f"({batch}x{width})@({width}x{hidden})": rate(lambda: x @ w1.t(), 2 * batch * width * hidden),
            f"({batch}x{hidden})@({hidden}x{width})": rate(lambda: h @ w2.t(), 2 * batch * width * hidden)}


def diffkg_rows():
    from kgrec.data import load_dataset

    sys.path.insert(0, str(REPO / "plugins" / "diffkg" / "src"))
    from kgrec_diffkg.diffusion import KGRows
    from kgrec_diffkg.kg import KGIndex

    data = load_dataset(str(DATA / "lastfm-hetrec"))
    index = KGIndex.build(data.kg, torch.device("cpu"))
    rows = KGRows.build(index, torch.as_tensor(data.kg.item_entity), "entities", "all")
    return rows.matrix, ("rows",)


def diffmm_rows():
    from kgrec.data import load_dataset
    from kgrec.diffusion import SparseRows

    data = load_dataset(str(DATA / "tiktok"))
    rows = SparseRows(torch.as_tensor(data.train.users), torch.as_tensor(data.train.items),
                      data.num_users, data.num_items)
    return rows, ("image", "text", "audio")


def phases(name: str, rows, channels, precision: str) -> list[tuple[str, float, float]]:
    from kgrec.diffusion import DiffusionConfig, RowDiffusion

    config = DiffusionConfig(normalize_input=name == "diffkg", precision=precision)
    diffusion = RowDiffusion(config, rows.num_columns, channels=channels)
    n, width, hidden = rows.num_rows, rows.num_columns, config.hidden[0]
    per_row_train = 4 * (width + config.time_dim) * hidden + 6 * hidden * width
    per_row_step = 2 * (width + config.time_dim) * hidden + 2 * hidden * width
    out = []
    start = time.perf_counter()
    diffusion.train_epoch(rows, torch.Generator().manual_seed(0))
    out.append((f"{name}: denoiser training pass", time.perf_counter() - start,
                len(channels) * n * per_row_train / 1e9))
    start = time.perf_counter()
    diffusion.top_k(rows, 1)
    out.append((f"{name}: reverse chain + top-k", time.perf_counter() - start,
                len(channels) * n * config.steps * per_row_step / 1e9))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--cases", default="diffkg,diffmm")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dtype = torch.bfloat16 if args.precision == "bfloat16" else torch.float32
    print(f"# {platform.node()} {platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {args.precision}")
    builders = {"diffkg": diffkg_rows, "diffmm": diffmm_rows}
    rows_of = {name: builders[name]() for name in args.cases.split(",")}
    print("| plain matmul | GFLOP/s |\n|---|---|")
    best = 0.0
    for name, (rows, _) in rows_of.items():
        for label, value in peak(dtype, rows.num_columns).items():
            best = max(best, value)
            print(f"| {name} {label} | {value:.0f} |")
    print(f"\npeak (best of the above): {best:.0f} GFLOP/s\n")
    print("| phase | seconds | GFLOP | GFLOP/s | share of peak |\n|---|---|---|---|---|")
    for name, (rows, channels) in rows_of.items():
        for label, seconds, gflop in phases(name, rows, channels, args.precision):
            print(f"| {label} | {seconds:.2f} | {gflop:.0f} | {gflop / seconds:.0f} | "
                  f"{gflop / seconds / best:.0%} |", flush=True)


if __name__ == "__main__":
    main()
