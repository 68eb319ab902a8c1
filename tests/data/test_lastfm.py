"""Last.FM HetRec: restriction to KG-linked artists, id remapping, the Satori KG, friendships,
and the real counts."""

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


def test_sample_kg_maps_relation_names_and_links_items():
    kg = load_lastfm_hetrec(SAMPLE).kg
    assert kg.relation_names == ("music.artist.genre", "music.artist.label", "music.artist.origin")
    assert (kg.num_entities, kg.num_relations, len(kg)) == (16, 3, 12)
    assert kg.item_entity.tolist() == list(range(10))
    triples = set(zip(kg.heads.tolist(), kg.relations.tolist(), kg.tails.tolist()))
    assert (3, 2, 12) in triples and (8, 1, 15) in triples  # 3 origin 12; 8 label 15


def test_sample_friends_use_the_interaction_user_map():
    data = load_lastfm_hetrec(SAMPLE)
    # original users 2 3 4 5 9 10 12 15 -> 0..7; user 7 has no indexed listens: 7-15 dropped
    got = set(zip(data.social.src.tolist(), data.social.dst.tolist()))
    assert got == {(0, 1), (1, 0), (0, 5), (5, 0), (2, 4), (4, 2), (3, 6), (6, 3), (4, 7), (7, 4)}


def test_side_files_are_optional(tmp_path):
    root = copy_sample(tmp_path)
    (root / "kg.txt").unlink()
    (root / "user_friends.dat").unlink()
    data = load_lastfm_hetrec(root)
    assert data.kg is None and data.social is None and data.num_items == 10


def test_entity_maps_through_the_item_index(tmp_path):
    root = copy_sample(tmp_path)
    lines = (root / "item_index2entity_id.txt").read_text().splitlines()
    lines[0] = "51\t15"  # item 0 (artist 51) is entity 15 now
    (root / "item_index2entity_id.txt").write_text("\n".join(lines) + "\n")
    kg = load_lastfm_hetrec(root).kg
    assert kg.item_entity[0] == 15 and kg.item_entity[1] == 1


def test_bad_entity_names_file_and_line(tmp_path):
    root = copy_sample(tmp_path)
    lines = (root / "kg.txt").read_text().splitlines()
    lines[6] = "6\tmusic.artist.origin\tx13"
    (root / "kg.txt").write_text("\n\n".join(lines) + "\n")  # blank lines in between
    with pytest.raises(DataError, match=r"kg\.txt:13: column 3: 'x13' is not an entity id"):
        load_lastfm_hetrec(root)


def test_duplicate_triples_dropped_with_warning(tmp_path):
    from kgrec.data.checks import DataRepairWarning

    root = copy_sample(tmp_path)
    with open(root / "kg.txt", "a") as f:
        f.write("0\tmusic.artist.genre\t10\n")
    with pytest.warns(DataRepairWarning, match="1 duplicate triples"):
        kg = load_lastfm_hetrec(root).kg
    assert len(kg) == 12


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real Last.FM data not found at {REAL}")
def test_real_lastfm_kg_and_friends():
    data = load_lastfm_hetrec(REAL)
    kg = data.kg
    assert (kg.num_entities, kg.num_relations, len(kg)) == (9366, 60, 15518)
    assert np.array_equal(kg.item_entity, np.arange(3846))  # item i is entity i
    assert len(np.unique(np.concatenate([kg.heads, kg.tails]))) == 9366
    social = data.social
    assert len(social) > 20000 and social.src.max() < 1872 and (social.src != social.dst).all()
    # friendships come in both directions in the release; the mapping must keep that
    forward = set(zip(social.src.tolist(), social.dst.tolist()))
    assert all((b, a) in forward for a, b in list(forward)[:500])
