"""Regenerate the multi-modal samples ``sample-diffmm/`` and ``sample-mmrec/``.

Run from the repository root: ``python datasets/make_mm_samples.py``. Both hold the same tiny
synthetic dataset (fixed seeds, so re-running gives identical files), written in DiffMM's
release layout and in MMRec's, so tests can check that the two loaders agree with the data
they were made from.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from kgrec.config import SplitConfig
from kgrec.data import RecData, SyntheticConfig, make_synthetic

HERE = Path(__file__).resolve().parent

SAMPLE_MM = SyntheticConfig(
    num_users=24, num_items=30, num_clusters=3, interactions_per_user=6.0, min_interactions=3,
    triples_per_item=0, social_ties_per_user=0, image_dim=6, audio_dim=4, seed=3,
)


def sample_mm() -> RecData:
    """The RecData behind both samples; modalities ``image`` (6-d) and ``text`` (4-d)."""
    data = make_synthetic(SAMPLE_MM, SplitConfig(valid_ratio=0.15, test_ratio=0.2, seed=0))
    mods = data.modalities
    return data.replace(name="sample-mm", modalities={"image": mods["image"], "text": mods["audio"]})


def write_diffmm(data: RecData, root: Path) -> None:
    """DiffMM's layout: pickled coo matrices; image features as float16, like TikTok's."""
    root.mkdir(parents=True, exist_ok=True)
    shape = (data.num_users, data.num_items)
    for name, part in (("trnMat", data.train), ("valMat", data.valid), ("tstMat", data.test)):
        mat = sp.coo_matrix((np.ones(len(part)), (part.users, part.items)), shape=shape)
        (root / f"{name}.pkl").write_bytes(pickle.dumps(mat, protocol=4))
    np.save(root / "image_feat.npy", data.modalities["image"].astype(np.float16))
    np.save(root / "text_feat.npy", data.modalities["text"].astype(np.float32))


def write_mmrec(data: RecData, root: Path) -> None:
    """MMRec's layout: ``<name>.inter`` with x_label (0/1/2) and row-aligned features."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ["userID\titemID\trating\ttimestamp\tx_label"]
    for label, part in enumerate((data.train, data.valid, data.test)):
        for k, (u, i) in enumerate(zip(part.users.tolist(), part.items.tolist())):
            lines.append(f"{u}\t{i}\t5.0\t{1_500_000_000 + 97 * k}\t{label}")
    (root / f"{root.name}.inter").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, matrix in data.modalities.items():
        np.save(root / f"{name}_feat.npy", matrix.astype(np.float32))


def main() -> None:
    data = sample_mm()
    write_diffmm(data, HERE / "sample-diffmm")
    write_mmrec(data, HERE / "sample-mmrec")
    print(f"wrote {HERE / 'sample-diffmm'} and {HERE / 'sample-mmrec'}")


if __name__ == "__main__":
    main()
