"""The MMRec layout: a RecBole-style .inter with <modality>_feat.npy beside it."""

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from kgrec.data import load_dataset
from kgrec.data.formats import FORMATS, detect_format
from kgrec.data.formats.mmrec import FORMAT, load_mmrec
from kgrec.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "datasets" / "sample-mmrec"
INTER = "sample-mmrec.inter"


def _sample_mm():
    spec = importlib.util.spec_from_file_location("make_mm_samples", REPO / "datasets" / "make_mm_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sample_mm()


@pytest.fixture
def copy(tmp_path):
    root = tmp_path / "sample-mmrec"
    shutil.copytree(SAMPLE, root)
    return root


def _pairs(part):
    return set(zip(part.users.tolist(), part.items.tolist()))


def _rewrite(root, edit):
    path = root / INTER
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


def test_sample_matches_the_data_it_was_made_from():
    data = load_mmrec(SAMPLE)
    truth = _sample_mm()
    assert (data.num_users, data.num_items) == (truth.num_users, truth.num_items)
    for part in ("train", "valid", "test"):  # x_label 0 / 1 / 2
        assert _pairs(getattr(data, part)) == _pairs(getattr(truth, part))
    for name in ("image", "text"):  # row i is item i
        np.testing.assert_array_equal(data.modalities[name], truth.modalities[name])
    assert data.split["method"] == "given"
    assert load_mmrec(SAMPLE / INTER).num_items == data.num_items  # the .inter file itself works


def test_detected_before_plain_recbole_only_when_features_exist(copy):
    names = list(FORMATS)
    assert names.index("mmrec") < names.index("recbole")
    assert detect_format(copy) is FORMAT
    for feat in copy.glob("*_feat.npy"):
        feat.unlink()
    assert detect_format(copy).name != "mmrec"


def test_recbole_style_header_without_label_is_split_per_user(copy):
    _rewrite(copy, lambda lines: ["user_id:token\titem_id:token\ttimestamp:float"]
             + ["\t".join(line.split("\t")[:2] + ["1.0"]) for line in lines[1:]])
    data = load_dataset(str(copy))
    assert data.split["method"] == "per_user_random"
    truth = load_mmrec(SAMPLE)
    every = _pairs(truth.train) | _pairs(truth.valid) | _pairs(truth.test)
    assert _pairs(data.train) | _pairs(data.valid) | _pairs(data.test) == every


def test_string_user_tokens_are_mapped(copy):
    _rewrite(copy, lambda lines: lines[:1] + ["u" + line for line in lines[1:]])
    data = load_mmrec(copy)
    assert data.num_users == len({line.split("\t")[0] for line in (copy / INTER).read_text().splitlines()[1:]})


def test_non_integer_item_id_names_file_and_line(copy):
    _rewrite(copy, lambda lines: lines[:3] + ["0\titem7\t5.0\t1\t0"] + lines[3:])
    with pytest.raises(DataError, match=rf"{INTER}:4: item id 'item7' is not a non-negative integer"):
        load_mmrec(copy)


def test_bad_split_label_names_file_and_line(copy):
    _rewrite(copy, lambda lines: lines[:2] + ["0\t3\t5.0\t1\t7"] + lines[2:])
    with pytest.raises(DataError, match=rf"{INTER}:3: x_label must be 0"):
        load_mmrec(copy)


@pytest.mark.parametrize("defect,needle", [
    (lambda m: np.concatenate([m, m[:1]]), "rows, expected one per item"),
    (lambda m: np.where(np.arange(m.shape[0])[:, None] == 2, np.nan, m), "non-finite"),
])
def test_bad_feature_matrix_is_refused_naming_the_file(copy, defect, needle):
    np.save(copy / "image_feat.npy", defect(np.load(copy / "image_feat.npy")))
    with pytest.raises(DataError, match=needle) as info:
        load_mmrec(copy)
    assert "image_feat.npy" in str(info.value)


def test_item_ids_past_the_feature_rows_are_refused(copy):
    _rewrite(copy, lambda lines: lines + ["0\t30\t5.0\t1\t0"])  # 31 items, features have 30 rows
    with pytest.raises(DataError, match="has 30 rows, expected one per item"):
        load_mmrec(copy)
