"""Last.FM HetRec: restriction to KG-linked artists, id remapping, and the real counts."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from kgrec.config import SplitConfig
from kgrec.data.formats.lastfm_hetrec import FORMAT, load_lastfm_hetrec
from kgrec.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "datasets" / "sample-lastfm"
REAL = REPO.parent / "shared" / "data" / "lastfm-hetrec"


def pairs(data):
    parts = (data.train, data.valid, data.test)
    return set(zip(np.concatenate([p.users for p in parts]).tolist(),
                   np.concatenate([p.items for p in parts]).tolist()))


def test_sample_restricts_to_indexed_artists_and_remaps():
    data = load_lastfm_hetrec(SAMPLE)
    # users 2 3 4 5 9 10 12 15 (7 listens only to unindexed artists); artists in index line order
    assert (data.num_users, data.num_items) == (8, 10)
    got = pairs(data)
    assert len(got) == 31
    assert {i for u, i in got if u == 0} == {0, 1, 2, 3}  # user 2: artists 51 52 53 61
    assert {i for u, i in got if u == 7} == {8, 9, 7, 0}  # user 15: artists 292 498 289 51
    assert data.kg is None and data.social is None
    assert data.split["method"] == "per_user_random"
    assert set(np.unique(data.train.users)) == set(range(8))


def test_split_follows_split_config():
    a = load_lastfm_hetrec(SAMPLE, SplitConfig(seed=1))
    b = load_lastfm_hetrec(SAMPLE, SplitConfig(seed=2))
    assert pairs(a) == pairs(b) and a.split["sha256"] != b.split["sha256"]


def test_detects_by_contents(tmp_path):
    assert FORMAT.detect(SAMPLE)
    assert not FORMAT.detect(tmp_path)


def copy_sample(tmp_path):
    root = tmp_path / "lastfm"
    shutil.copytree(SAMPLE, root)
    return root


def test_bad_row_names_file_and_line(tmp_path):
    root = copy_sample(tmp_path)
    lines = (root / "user_artists.dat").read_text().splitlines()
    lines[4] = "2\tabc\t12"
    (root / "user_artists.dat").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"user_artists\.dat:5: column 2: 'abc' is not an integer"):
        load_lastfm_hetrec(root)


def test_duplicate_artist_in_index(tmp_path):
    root = copy_sample(tmp_path)
    with open(root / "item_index2entity_id.txt", "a") as f:
        f.write("52\t77\r\n")
    with pytest.raises(DataError, match=r"item_index2entity_id\.txt:11: artist 52 is listed twice"):
        load_lastfm_hetrec(root)


def test_missing_file(tmp_path):
    root = copy_sample(tmp_path)
    (root / "item_index2entity_id.txt").unlink()
    with pytest.raises(DataError, match=r"item_index2entity_id\.txt: missing"):
        load_lastfm_hetrec(root)


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real Last.FM data not found at {REAL}")
def test_real_lastfm_counts():
    data = load_lastfm_hetrec(REAL)
    assert (data.num_users, data.num_items) == (1872, 3846)
    assert len(data.train) + len(data.valid) + len(data.test) == 21173
    assert set(np.unique(data.train.users)) == set(range(1872))
