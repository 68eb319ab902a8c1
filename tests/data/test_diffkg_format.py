"""DiffKG's release format: pickles through the restricted unpickler, a carved validation."""

import importlib.util
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from kgrec.config import SplitConfig
from kgrec.data.formats import detect_format
from kgrec.data.formats.diffkg import FORMAT, load_diffkg
from kgrec.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "datasets" / "sample-diffkg"


def _sample_kgrec():
    spec = importlib.util.spec_from_file_location("make_samples", REPO / "datasets" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sample_kgrec()


def pairs(*parts):
    return set(zip(np.concatenate([p.users for p in parts]).tolist(),
                   np.concatenate([p.items for p in parts]).tolist()))


def write(tmp_path, train=None, test=None, kg="0 0 3\n1 1 4\n2 0 3\n"):
    root = tmp_path / "ds"
    root.mkdir(exist_ok=True)
    coo = sp.coo_matrix
    if train is None:
        train = coo(([1.0] * 6, ([0, 0, 0, 1, 1, 2], [0, 1, 2, 0, 2, 1])), shape=(3, 3))
    if test is None:
        test = coo(([1.0, 1], ([1, 2], [1, 0])), shape=(3, 3))
    (root / "trnMat.pkl").write_bytes(pickle.dumps(train, protocol=4))
    (root / "tstMat.pkl").write_bytes(pickle.dumps(test, protocol=4))
    (root / "kg.txt").write_text(kg)
    return root


def test_sample_matches_the_data_it_was_made_from():
    data = load_diffkg(SAMPLE)
    truth = _sample_kgrec()
    assert (data.num_users, data.num_items) == (truth.num_users, truth.num_items)
    assert pairs(data.train, data.valid) == pairs(truth.train, truth.valid)
    assert pairs(data.test) == pairs(truth.test)
    assert not pairs(data.train) & pairs(data.valid)
    kg, want = data.kg, truth.kg
    assert set(zip(kg.heads.tolist(), kg.relations.tolist(), kg.tails.tolist())) == \
        set(zip(want.heads.tolist(), want.relations.tolist(), want.tails.tolist()))
    assert (kg.num_entities, kg.num_relations) == (want.num_entities, want.num_relations)
    assert kg.item_entity.tolist() == list(range(data.num_items))
    assert detect_format(SAMPLE) is FORMAT


def test_validation_is_carved_deterministically_from_train_only(tmp_path):
    a = load_diffkg(SAMPLE, SplitConfig(valid_ratio=0.2, seed=3))
    b = load_diffkg(SAMPLE, SplitConfig(valid_ratio=0.2, seed=3))
    c = load_diffkg(SAMPLE, SplitConfig(valid_ratio=0.2, seed=4))
    assert a.split == b.split and pairs(a.valid) == pairs(b.valid)
    assert pairs(a.valid) != pairs(c.valid) and pairs(a.test) == pairs(c.test)
    assert a.split["method"] == "given+carved_validation" and a.split["seed"] == 3


def test_entity_and_relation_counts_cover_items_and_ids(tmp_path):
    data = load_diffkg(write(tmp_path, kg="0 0 5\n1 2 4\n"))
    assert (data.kg.num_entities, data.kg.num_relations, len(data.kg)) == (6, 3, 2)
    data = load_diffkg(write(tmp_path, kg="0 0 1\n"))
    assert data.kg.num_entities == 3  # items 0..2 are entities even when the KG names fewer


class _Evil:
    """Unpickling this runs ``func(*args)``; a safe loader must never do it."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _evil(kind, marker):
    if kind == "os.system":
        return _Evil(os.system, (f"touch {marker}",))
    return _Evil(open, (str(marker), "w"))  # writes (creates) a file


@pytest.mark.parametrize("kind", ["os.system", "open"])
@pytest.mark.parametrize("where", ["trnMat.pkl", "tstMat.pkl", "nested"])
def test_a_malicious_pickle_is_refused_and_never_runs(tmp_path, kind, where):
    marker = tmp_path / "pwned"
    root = write(tmp_path)
    evil = _evil(kind, marker)
    target = "trnMat.pkl" if where == "nested" else where
    (root / target).write_bytes(pickle.dumps([evil] if where == "nested" else evil, protocol=4))
    with pytest.raises(DataError, match=rf"{target}.*refusing"):
        load_diffkg(root)
    assert not marker.exists()
    pickle.loads((root / target).read_bytes())  # the same bytes do run code through pickle
    assert marker.exists()


@pytest.mark.parametrize("change,message", [
    ({"train": [1, 2]}, r"trnMat\.pkl: expected a pickled scipy\.sparse matrix"),
    ({"test": sp.coo_matrix((2, 3))}, r"tstMat\.pkl: shape \(2, 3\) differs"),
    ({"kg": "0 0 3\n1 x 4\n"}, r"kg\.txt:2: column 2: 'x' is not an integer"),
    ({"kg": "0 0 3\n1 4\n"}, r"kg\.txt:2: expected 3 columns"),
])
def test_malformed_files_name_file_and_line(tmp_path, change, message):
    with pytest.raises(DataError, match=message):
        load_diffkg(write(tmp_path, **change))


def test_missing_kg_is_named(tmp_path):
    root = write(tmp_path)
    (root / "kg.txt").unlink()
    assert not FORMAT.detect(root)
    with pytest.raises(DataError, match=r"kg\.txt: missing"):
        load_diffkg(root)
