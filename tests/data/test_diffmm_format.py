"""DiffMM's release format: pickled matrices (restricted unpickler) plus <modality>_feat.npy."""

import importlib.util
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from kgrec.data import load_dataset
from kgrec.data.formats import FORMATS, detect_format
from kgrec.data.formats.diffmm import FORMAT, load_diffmm
from kgrec.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "datasets" / "sample-diffmm"


def _sample_mm():
    spec = importlib.util.spec_from_file_location("make_mm_samples", REPO / "datasets" / "make_mm_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sample_mm()


@pytest.fixture
def copy(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(SAMPLE, root)
    return root


def _pairs(part):
    return set(zip(part.users.tolist(), part.items.tolist()))


def test_sample_matches_the_data_it_was_made_from():
    data = load_diffmm(SAMPLE)
    truth = _sample_mm()
    assert (data.num_users, data.num_items) == (truth.num_users, truth.num_items)
    for part in ("train", "valid", "test"):
        assert _pairs(getattr(data, part)) == _pairs(getattr(truth, part))
    assert list(data.modalities) == ["image", "text"]  # from the file names, sorted
    # image is stored as float16 (like TikTok's release) and comes back as float32
    assert data.modalities["image"].dtype == np.float32
    np.testing.assert_array_equal(data.modalities["image"],
                                  truth.modalities["image"].astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(data.modalities["text"], truth.modalities["text"])
    assert data.split["method"] == "given"
    assert detect_format(SAMPLE) is FORMAT


def test_without_valmat_validation_is_carved_from_train_and_test_untouched(copy):
    (copy / "valMat.pkl").unlink()
    assert detect_format(copy) is FORMAT  # the feature files still identify it
    data = load_dataset(str(copy))
    full = load_diffmm(SAMPLE)
    assert data.split["method"] == "given+carved_validation"
    assert _pairs(data.test) == _pairs(full.test)
    assert len(data.valid) > 0 and not (_pairs(data.valid) & _pairs(data.train))
    assert _pairs(data.train) | _pairs(data.valid) == _pairs(full.train)


def test_is_not_confused_with_diffkg(copy):
    (copy / "kg.txt").write_text("0 0 30\n1 0 31\n")
    assert not FORMAT.detect(copy)
    if "diffkg" in FORMATS:
        assert detect_format(copy).name == "diffkg"
    bare = copy.parent / "bare"
    bare.mkdir()
    for name in ("trnMat.pkl", "tstMat.pkl"):
        shutil.copy(copy / name, bare / name)
    assert not FORMAT.detect(bare)  # no valMat.pkl and no features: not recognisably DiffMM's


@pytest.mark.parametrize("defect,needle", [
    (lambda m: m[:-1], "rows, expected one per item"),
    (lambda m: np.where(np.arange(m.shape[0])[:, None] == 3, np.nan, m), "non-finite"),
    (lambda m: np.where(np.arange(m.shape[0])[:, None] == 5, np.inf, m), "non-finite"),
    (lambda m: m[:, :0], "0 columns"),
])
def test_bad_feature_matrix_is_refused_naming_the_file(copy, defect, needle):
    matrix = np.load(copy / "text_feat.npy")
    np.save(copy / "text_feat.npy", defect(matrix))
    with pytest.raises(DataError, match=needle) as info:
        load_diffmm(copy)
    assert "text_feat.npy" in str(info.value)


def test_pickled_object_features_are_refused(copy):
    np.save(copy / "audio_feat.npy", np.array([{"a": 1}] * 30, dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="audio_feat.npy.*not a numeric .npy"):
        load_diffmm(copy)


def test_matrix_shape_mismatch_names_the_file(copy):
    wrong = sp.coo_matrix(([1.0], ([0], [0])), shape=(24, 31))
    (copy / "tstMat.pkl").write_bytes(pickle.dumps(wrong))
    with pytest.raises(DataError, match=r"tstMat.pkl: shape \(24, 31\) differs"):
        load_diffmm(copy)


def test_a_pickle_that_runs_code_is_refused(copy):
    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("echo pwned",))

    (copy / "valMat.pkl").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(DataError, match="valMat.pkl.*refusing"):
        load_diffmm(copy)


def test_explicit_zeros_are_not_interactions(copy):
    train = pickle.loads((copy / "trnMat.pkl").read_bytes())
    zero_row, zero_col = 0, 29
    assert (zero_row, zero_col) not in set(zip(train.row.tolist(), train.col.tolist()))
    padded = sp.coo_matrix((np.append(train.data, 0.0), (np.append(train.row, zero_row),
                                                         np.append(train.col, zero_col))),
                           shape=train.shape)
    (copy / "trnMat.pkl").write_bytes(pickle.dumps(padded))
    assert (zero_row, zero_col) not in _pairs(load_diffmm(copy).train)


def test_tiktok_release(shared_data):
    data = load_dataset(str(shared_data / "tiktok"))
    assert (data.num_users, data.num_items) == (9308, 6710)
    assert (len(data.train), len(data.valid), len(data.test)) == (59541, 3051, 6130)
    assert sorted(data.modalities) == ["audio", "image"]
    assert all(m.dtype == np.float32 and m.shape == (6710, 128) for m in data.modalities.values())
