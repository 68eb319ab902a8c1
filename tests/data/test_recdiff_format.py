"""RecDiff's dataset.pkl: loaded through the restricted unpickler, never by running code."""

import importlib.util
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from kgrec.config import SplitConfig
from kgrec.data.checks import DataRepairWarning
from kgrec.data.formats import detect_format
from kgrec.data.formats.recdiff import FORMAT, load_recdiff
from kgrec.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "datasets" / "sample-recdiff"


def _sample_kgrec():
    spec = importlib.util.spec_from_file_location("make_samples", REPO / "datasets" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sample_kgrec()


def _write(tmp_path, obj, name="dataset.pkl"):
    root = tmp_path / "ds"
    root.mkdir(exist_ok=True)
    (root / name).write_bytes(pickle.dumps(obj, protocol=4))
    return root


def _dict(**changes):
    coo = sp.coo_matrix
    raw = {"train": coo(([1.0, 1, 1, 1], ([0, 0, 1, 2], [0, 1, 2, 3])), shape=(3, 4)),
           "val": coo(([1.0], ([1], [0])), shape=(3, 4)),
           "test": coo(([1.0, 1], ([0, 2], [2, 0])), shape=(3, 4)),
           "trust": coo(([1.0, 1], ([0, 1], [1, 2])), shape=(3, 3)),
           "userCount": 3, "itemCount": 4}
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def test_sample_matches_the_data_it_was_made_from():
    data = load_recdiff(SAMPLE)
    truth = _sample_kgrec()
    assert (data.num_users, data.num_items) == (truth.num_users, truth.num_items)
    for part in ("train", "valid", "test"):
        got, want = getattr(data, part), getattr(truth, part)
        assert set(zip(got.users.tolist(), got.items.tolist())) == \
            set(zip(want.users.tolist(), want.items.tolist()))
    assert set(zip(data.social.src.tolist(), data.social.dst.tolist())) == \
        set(zip(truth.social.src.tolist(), truth.social.dst.tolist()))
    assert data.split["method"] == "given"
    assert detect_format(SAMPLE) is FORMAT
    assert load_recdiff(SAMPLE / "dataset.pkl").split == data.split  # the file itself works too


def test_numpy_counts_csr_matrices_and_trust_direction(tmp_path):
    raw = _dict(userCount=np.int64(3), itemCount=np.int64(4),
                trust=sp.csr_matrix(([1.0], ([2], [0])), shape=(3, 3)))
    data = load_recdiff(_write(tmp_path, raw))
    assert (data.num_users, data.num_items) == (3, 4)
    assert (data.social.src.tolist(), data.social.dst.tolist()) == ([2], [0])  # row trusts col


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("where", ["top", "inside"])
def test_a_malicious_pickle_is_refused_and_never_runs(tmp_path, where):
    marker = tmp_path / "pwned"
    evil = _Evil(marker)
    root = _write(tmp_path, evil if where == "top" else _dict(category=evil))
    with pytest.raises(DataError, match=r"dataset\.pkl.*(posix|os|nt)\.system.*refusing"):
        load_recdiff(root)
    assert not marker.exists()
    # and the same bytes do run code through plain pickle, so the test is meaningful
    pickle.loads((root / "dataset.pkl").read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("raw,message", [
    ([1, 2, 3], "expected a pickled dict"),
    (_dict(trust=None), "missing key.*trust"),
    (_dict(itemCount=5), r"train has shape \(3, 4\), expected \(3, 5\)"),
    (_dict(test=np.ones((3, 4))), "test must be a scipy.sparse matrix"),
    (_dict(userCount=0), "userCount must be a positive integer"),
])
def test_malformed_contents_name_the_file(tmp_path, raw, message):
    with pytest.raises(DataError, match=message) as info:
        load_recdiff(_write(tmp_path, raw))
    assert "dataset.pkl" in str(info.value)


def test_missing_val_is_carved_and_defects_are_repaired(tmp_path):
    coo = sp.coo_matrix
    raw = _dict(val=None,
                train=coo(([1.0] * 8, ([0, 0, 0, 0, 1, 1, 2, 2], [0, 1, 2, 2, 0, 1, 2, 3])), shape=(3, 4)),
                test=coo(([1.0, 1], ([0, 1], [3, 0])), shape=(3, 4)),
                trust=coo(([1.0, 1, 1], ([0, 1, 1], [0, 2, 2])), shape=(3, 3)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_recdiff(_write(tmp_path, raw), SplitConfig(valid_ratio=0.3, seed=1))
    text = " | ".join(str(w.message) for w in caught if issubclass(w.category, DataRepairWarning))
    assert "duplicate interaction" in text and "self-loops" in text and "duplicate trust" in text
    assert "also training pairs" in text  # test pair (1, 0) is a training pair
    assert data.split["method"] == "given+carved_validation" and len(data.valid) > 0
    assert len(data.train) + len(data.valid) == 7 and len(data.test) == 1
    assert (data.social.src.tolist(), data.social.dst.tolist()) == ([1], [2])
