"""Raw ids: every loader that renumbers users or items keeps the files' ids
(``RecData.user_ids`` / ``item_ids``), index formats leave them None, and every run directory
keeps the mapping in ``ids.npz`` (no pickles), loadable without the dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kgrec.data import load_dataset
from kgrec.errors import KgrecError
from kgrec.experiment.ids import IDS_FILE, IdMap, RunIds, load_ids
from kgrec.testing import tiny_data, tiny_run

SAMPLES = Path(__file__).resolve().parents[2] / "datasets"


def _pairs(path: Path, user_col: int, item_col: int, skip_header: bool, sep=None) -> set[tuple[str, str]]:
    lines = [line.split(sep) for line in path.read_text().splitlines() if line.strip()]
    return {(row[user_col].strip(), row[item_col].strip()) for row in lines[int(skip_header):]}


def _raw_pairs(data) -> set[tuple[str, str]]:
    users = np.concatenate([data.train.users, data.valid.users, data.test.users])
    items = np.concatenate([data.train.items, data.valid.items, data.test.items])
    return set(zip(np.asarray(data.user_ids)[users].astype(str).tolist(),
                   np.asarray(data.item_ids)[items].astype(str).tolist()))


@pytest.mark.parametrize("name, path, columns, header, sep", [
    ("filmtrust", "sample-filmtrust/ratings.txt", (0, 1), False, None),
    ("recbole", "sample-recbole/sample.inter", (0, 2), True, "\t"),
])
def test_renumbering_loaders_keep_both_id_maps(name, path, columns, header, sep):
    data = load_dataset(str(SAMPLES / path.split("/")[0]))
    assert len(data.user_ids) == data.num_users and len(data.item_ids) == data.num_items
    # every interaction, mapped back through the kept ids, is a row of the file
    assert _raw_pairs(data) == _pairs(SAMPLES / path, *columns, header, sep)


def test_lastfm_keeps_artist_ids_in_item_order():
    data = load_dataset(str(SAMPLES / "sample-lastfm"))
    index = [int(line.split()[0]) for line in (SAMPLES / "sample-lastfm/item_index2entity_id.txt")
             .read_text().splitlines() if line.strip()]
    assert data.item_ids.tolist() == index
    rows = _pairs(SAMPLES / "sample-lastfm/user_artists.dat", 0, 1, True)
    assert _raw_pairs(data) <= rows and len(data.user_ids) == data.num_users


@pytest.mark.parametrize("name", ["sample-kgrec", "sample-diffkg", "sample-diffmm", "sample-recdiff"])
def test_index_formats_leave_the_ids_to_the_indices(name):
    data = load_dataset(str(SAMPLES / name))
    assert data.user_ids is None and data.item_ids is None
    ids, raw = data.raw_ids("item")
    assert not raw and np.array_equal(ids, np.arange(data.num_items))


def test_mmrec_items_are_indices():
    data = load_dataset(str(SAMPLES / "sample-mmrec"))
    assert data.item_ids is None


def test_every_run_directory_keeps_the_mapping(tmp_path):
    data = tiny_data()
    data = data.replace(user_ids=np.array([f"u{1000 + u}" for u in range(data.num_users)]),
                        item_ids=np.arange(data.num_items, dtype=np.int64) * 7 + 3)
    result = tiny_run("none", "mf", tmp_path / "r", data=data, epochs=1)
    with np.load(result.run_dir / IDS_FILE, allow_pickle=False) as found:  # no pickles inside
        assert found["user_ids"].dtype.kind == "U" and found["item_ids"].dtype == np.int64
    ids = load_ids(result.run_dir)
    assert ids.users.raw and ids.items.raw
    assert ids.users.ids.tolist() == data.user_ids.tolist()
    assert np.array_equal(ids.items.indices([10, 3]), [1, 0])
    plain = load_ids(tiny_run("none", "mf", tmp_path / "plain", epochs=1).run_dir)
    assert not plain.users.raw and np.array_equal(plain.users.ids, np.arange(len(plain.users)))


def test_id_maps_refuse_wrong_types_and_unknown_ids():
    strings = IdMap(np.array(["b", "a", "c"]), "user", True)
    assert strings.indices(["c", "a"]).tolist() == [2, 1]
    assert strings.indices("b").tolist() == [0]
    with pytest.raises(KgrecError, match="user id 5 is an integer, but this run's user ids are strings"):
        strings.indices([5])
    with pytest.raises(KgrecError, match="unknown user ids 'x', 'y'"):
        strings.indices(["a", "x", "y"])
    numbers = IdMap(np.array([10, 30, 20]), "item", True)
    assert numbers.indices(np.array([20, 10])).tolist() == [2, 0]
    assert numbers.parse(["30", " 10"]).tolist() == [30, 10]
    for bad in (["10"], [1.0], [True]):
        with pytest.raises(KgrecError, match="item id .* but this run's item ids are integers"):
            numbers.indices(bad)
    with pytest.raises(KgrecError, match="item id 'ten' is not an integer"):
        numbers.parse(["ten"])
    index = IdMap(np.arange(4), "item", False)
    assert index.indices([3, 0]).tolist() == [3, 0]
    with pytest.raises(KgrecError, match="unknown item id 4"):
        index.indices([4])


def test_a_renumbered_dataset_without_its_ids_is_refused():
    data = tiny_data()
    bad = data.replace(user_ids=np.arange(data.num_users - 1))
    with pytest.raises(KgrecError, match="raw user ids for"):
        RunIds.of(bad)
    with pytest.raises(KgrecError, match="not all distinct"):
        RunIds.of(data.replace(item_ids=np.zeros(data.num_items, np.int64)))


def test_a_damaged_id_file_is_a_one_line_error(tmp_path):
    (tmp_path / IDS_FILE).write_bytes(b"not a zip")
    with pytest.raises(KgrecError, match="not a readable id map") as exc:
        load_ids(tmp_path)
    assert "\n" not in str(exc.value)
