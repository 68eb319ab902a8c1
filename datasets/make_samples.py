"""Regenerate the committed sample datasets that are made by code (``sample-kgrec/``).

Run from the repository root: ``python datasets/make_samples.py``. The output is deterministic
(fixed seeds), so a regenerated sample shows no diff unless the generator or the format changed.
``sample-lastfm/`` is hand-written and not touched here.
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


def main() -> None:
    out = save_kgrec_dir(sample_kgrec(), HERE / "sample-kgrec", overwrite=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
