"""FilmTrust: every rating a positive, contiguous ids, trust restricted to rated users."""

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from kgrec.config import SplitConfig
from kgrec.data.checks import DataRepairWarning
from kgrec.data.formats import detect_format
from kgrec.data.formats.filmtrust import FORMAT, load_filmtrust
from kgrec.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "datasets" / "sample-filmtrust"
REAL = REPO.parent / "shared" / "data" / "filmtrust"


def _pairs(data):
    parts = (data.train, data.valid, data.test)
    return set(zip(np.concatenate([p.users for p in parts]).tolist(),
                   np.concatenate([p.items for p in parts]).tolist()))


def _load(path, split=None):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_filmtrust(path, split)
    return data, [str(w.message) for w in caught if issubclass(w.category, DataRepairWarning)]


def test_sample_remaps_ids_and_keeps_every_rating():
    data, repaired = _load(SAMPLE)
    # users 3 5 8 12 20 -> 0..4, items 10..18 -> 0..8; 21 rows, one duplicate (8, 12)
    assert (data.num_users, data.num_items) == (5, 9)
    got = _pairs(data)
    assert len(got) == 20
    assert {i for u, i in got if u == 0} == {0, 1, 4, 7}  # user 3 incl. the 0.5 rating of 17
    assert {i for u, i in got if u == 2} == {1, 2, 6, 7}  # user 8
    ties = set(zip(data.social.src.tolist(), data.social.dst.tolist()))
    assert ties == {(0, 1), (1, 0), (0, 2), (2, 3), (3, 4), (4, 0)}
    text = " | ".join(repaired)
    assert "dropped 2 of 10 trust links" in text  # 7 has no ratings, nor has 40
    assert "self-loops" in text and "duplicate trust" in text and "duplicate interaction" in text
    assert detect_format(SAMPLE) is FORMAT


def test_split_follows_split_config():
    a, _ = _load(SAMPLE, SplitConfig(seed=1, valid_ratio=0.2, test_ratio=0.2))
    b, _ = _load(SAMPLE, SplitConfig(seed=2, valid_ratio=0.2, test_ratio=0.2))
    assert _pairs(a) == _pairs(b) and a.split["sha256"] != b.split["sha256"]
    assert a.split["method"] == "per_user_random" and a.split["seed"] == 1


@pytest.mark.filterwarnings("ignore::kgrec.data.checks.DataRepairWarning")
def test_bad_and_missing_files_name_the_file(tmp_path):
    root = tmp_path / "ft"
    shutil.copytree(SAMPLE, root)
    (root / "trust.txt").write_text("3 5 1\n3 x 1\n")
    with pytest.raises(DataError, match=r"trust\.txt:2: column 2: 'x' is not an integer"):
        load_filmtrust(root)
    (root / "trust.txt").unlink()
    assert not FORMAT.detect(root)
    with pytest.raises(DataError, match=r"trust\.txt: missing"):
        load_filmtrust(root)


def test_real_filmtrust_counts():
    if not REAL.is_dir():
        pytest.skip(f"real FilmTrust not present at {REAL}")
    data, repaired = _load(REAL)
    assert (data.num_users, data.num_items) == (1508, 2071)
    assert len(_pairs(data)) == 35494  # 35,497 rows, 3 duplicate pairs
    assert len(data.social) == 1632 and data.social.src.max() < 1508
    assert any("221 of 1853 trust links" in m for m in repaired)
