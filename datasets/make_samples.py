"""Regenerate the committed sample datasets that are made by code (``sample-kgrec/``).

Run from the repository root: ``python datasets/make_samples.py``. The output is deterministic
(fixed seeds), so a regenerated sample shows no diff unless the generator or the format changed.
``sample-lastfm/`` and ``sample-filmtrust/`` are hand-written and not touched here.
"""

from __future__ import annotations

from pathlib import Path

from kgrec.config import SplitConfig
from kgrec.data import RecData, SyntheticConfig, make_synthetic, save_kgrec_dir

HERE = Path(__file__).resolve().parent

SAMPLE_KGREC = SyntheticConfig(
    num_users=30, num_items=40, num_clusters=4, interactions_per_user=8.0, min_interactions=3,
    attributes_per_cluster=3, num_relations=3, triples_per_item=2, social_ties_per_user=3,
    image_dim=8, audio_dim=0, seed=0,
)


def sample_kgrec() -> RecData:
    """The RecData behind ``sample-kgrec/`` (tests compare it with the committed files)."""
    data = make_synthetic(SAMPLE_KGREC, SplitConfig(valid_ratio=0.1, test_ratio=0.2, seed=0))
    return data.replace(name="sample-kgrec")


def sample_recdiff() -> dict:
    """The dict behind ``sample-recdiff/dataset.pkl``: ``sample_kgrec()`` in RecDiff's release
    layout (scipy coo matrices, int counts, an item ``category`` array the loader ignores)."""
    import numpy as np
    import scipy.sparse as sp

    data = sample_kgrec()
    shape = (data.num_users, data.num_items)

    def coo(part, size):
        return sp.coo_matrix((np.ones(len(part[0])), part), shape=size)

    return {
        "train": coo((data.train.users, data.train.items), shape),
        "val": coo((data.valid.users, data.valid.items), shape),
        "test": coo((data.test.users, data.test.items), shape),
        "trust": coo((data.social.src, data.social.dst), (data.num_users, data.num_users)),
        "userCount": data.num_users,
        "itemCount": data.num_items,
        "category": np.arange(data.num_items, dtype=np.int64) % 4,
    }


def write_sample_diffkg(root: Path) -> None:
    """``sample-diffkg/``: ``sample_kgrec()`` in DiffKG's release layout. DiffKG ships no
    validation split, so ``trnMat.pkl`` holds train + valid; items are entities 0..I-1."""
    import pickle

    import numpy as np
    import scipy.sparse as sp

    data = sample_kgrec()
    shape = (data.num_users, data.num_items)
    train = (np.concatenate([data.train.users, data.valid.users]),
             np.concatenate([data.train.items, data.valid.items]))
    root.mkdir(exist_ok=True)
    for name, (rows, cols) in (("trnMat.pkl", train), ("tstMat.pkl", (data.test.users, data.test.items))):
        matrix = sp.coo_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=shape)
        (root / name).write_bytes(pickle.dumps(matrix, protocol=4))
    kg = data.kg
    (root / "kg.txt").write_text("".join(f"{h} {r} {t}\n" for h, r, t in
                                         zip(kg.heads.tolist(), kg.relations.tolist(), kg.tails.tolist())))


def write_sample_recbole(root: Path) -> None:
    """``sample-recbole/``: ``sample_kgrec()`` as RecBole atomic files with string tokens
    (user ``u<id>``, item ``i<id>``, entity ``m.<id>``, relation ``rel.<id>``), rows shuffled,
    and extra columns (one with spaces) that the loader must ignore."""
    import numpy as np

    data = sample_kgrec()
    rng = np.random.default_rng(0)
    users = np.concatenate([p.users for p in (data.train, data.valid, data.test)])
    items = np.concatenate([p.items for p in (data.train, data.valid, data.test)])
    order = rng.permutation(len(users))
    root.mkdir(exist_ok=True)

    def write(suffix: str, header: str, rows) -> None:
        (root / f"sample.{suffix}").write_text(header + "\n" + "".join(r + "\n" for r in rows))

    write("inter", "user_id:token\tcomment:token_seq\titem_id:token\trating:float",
          (f"u{users[j]}\tgood song {j}\ti{items[j]}\t{1 + j % 5}.0" for j in order))
    kg = data.kg
    write("kg", "head_id:token\trelation_id:token\ttail_id:token",
          (f"m.{h}\trel.{r}\tm.{t}" for h, r, t in
           zip(kg.heads.tolist(), kg.relations.tolist(), kg.tails.tolist())))
    write("link", "item_id:token\tentity_id:token",
          (f"i{i}\tm.{e}" for i, e in enumerate(kg.item_entity.tolist())))
    write("net", "source_id:token\ttarget_id:token",
          (f"u{a}\tu{b}" for a, b in zip(data.social.src.tolist(), data.social.dst.tolist())))


def main() -> None:
    import pickle

    out = save_kgrec_dir(sample_kgrec(), HERE / "sample-kgrec", overwrite=True)
    print(f"wrote {out}")
    target = HERE / "sample-recdiff" / "dataset.pkl"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(pickle.dumps(sample_recdiff(), protocol=4))
    print(f"wrote {target}")
    for name, write in (("sample-diffkg", write_sample_diffkg), ("sample-recbole", write_sample_recbole)):
        write(HERE / name)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
