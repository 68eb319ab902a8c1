"""Write a kgrec dataset's exact split as RecBole atomic benchmark files.

kgrec loads and splits the dataset exactly as a run does (``kgrec.data.load_dataset`` with the
given ``SplitConfig``), and the three parts are written as

    <out>/<name>/<name>.train.inter
    <out>/<name>/<name>.valid.inter
    <out>/<name>/<name>.test.inter

with the header ``user_id:token<TAB>item_id:token`` and one kgrec (user, item) index pair a
line, so that RecBole (``benchmark_filename: [train, valid, test]``) trains and evaluates on
the same pairs as kgrec. Tokens are kgrec's integer ids written as strings; RecBole remaps
them to its own ids (in order of appearance, 0 reserved for padding), which changes nothing
but the ids. RecBole's item set is every token in the three files; the script checks that
this is every kgrec item and user (otherwise RecBole would rank fewer items than kgrec) and
writes ``<name>.split.json`` with the counts and kgrec's split record (method, ratios, seed and
the sha256 of each part) so a run can check it uses the files it expects.

    python bench/peer/export_split.py ../shared/data/lastfm-hetrec --out /tmp/recbole-data
    python bench/peer/export_split.py ../shared/data/filmtrust --name filmtrust --out /tmp/recbole-data
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from kgrec.config import SplitConfig
from kgrec.data import load_dataset
from kgrec.data.recdata import RecData

PARTS = ("train", "valid", "test")
HEADER = "user_id:token\titem_id:token\n"


def export(data: RecData, name: str, out: Path) -> dict:
    """Write ``data``'s split under ``out/name``; returns what ``<name>.split.json`` holds."""
    users_seen = np.unique(np.concatenate([getattr(data, p).users for p in PARTS]))
    items_seen = np.unique(np.concatenate([getattr(data, p).items for p in PARTS]))
    if len(users_seen) != data.num_users or len(items_seen) != data.num_items:
        raise SystemExit(f"{name}: {data.num_users - len(users_seen)} users and "
                         f"{data.num_items - len(items_seen)} items occur in no split; RecBole "
                         "would not know them and would rank fewer items than kgrec")
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        pairs = getattr(data, part)
        lines = [HEADER] + [f"{u}\t{i}\n" for u, i in zip(pairs.users.tolist(), pairs.items.tolist())]
        path = folder / f"{name}.{part}.inter"
        tmp = path.with_suffix(".inter.tmp")
        tmp.write_text("".join(lines))
        os.replace(tmp, path)
    record = {"name": name, "source": str(data.source), "num_users": int(data.num_users),
              "num_items": int(data.num_items),
              **{f"num_{p}": int(len(getattr(data, p))) for p in PARTS},
              "split": json.loads(json.dumps(dict(data.split), default=str))}
    (folder / f"{name}.split.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="a kgrec dataset spec, e.g. ../shared/data/lastfm-hetrec")
    parser.add_argument("--name", default=None, help="RecBole dataset name (default: kgrec's)")
    parser.add_argument("--out", type=Path, required=True, help="RecBole data_path")
    parser.add_argument("--format", default="auto")
    parser.add_argument("--valid-ratio", type=float, default=SplitConfig.valid_ratio)
    parser.add_argument("--test-ratio", type=float, default=SplitConfig.test_ratio)
    parser.add_argument("--split-seed", type=int, default=SplitConfig.seed)
    args = parser.parse_args()
    split = SplitConfig(valid_ratio=args.valid_ratio, test_ratio=args.test_ratio, seed=args.split_seed)
    data = load_dataset(args.dataset, args.format, split)
    record = export(data, args.name or data.name, args.out)
    print(json.dumps({k: v for k, v in record.items() if k != "split"}))


if __name__ == "__main__":
    main()
