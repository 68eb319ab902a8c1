"""load_dataset: the synthetic spec, format detection and the errors users see."""

from pathlib import Path

import pytest

from kgrec.config import SplitConfig
from kgrec.data import describe, load_dataset
from kgrec.data.formats import FORMATS, detect_format
from kgrec.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "datasets"


def test_synthetic_is_the_default_spec():
    data = load_dataset("synthetic?num_users=120&num_items=90&num_clusters=4&seed=1")
    assert data.name == "synthetic" and (data.num_users, data.num_items) == (120, 90)
    assert data.source == "synthetic?num_users=120&num_items=90&num_clusters=4&seed=1"


def test_synthetic_uses_split_config():
    spec = "synthetic?num_users=120&num_items=90&num_clusters=4"
    a = load_dataset(spec, split_config=SplitConfig(seed=1))
    b = load_dataset(spec, split_config=SplitConfig(seed=2))
    assert a.split["seed"] == 1 and a.split["sha256"] != b.split["sha256"]


@pytest.mark.parametrize("spec, match", [
    ("synthetic?num_user=5", r"did you mean synthetic\.num_users"),
    ("synthetic?num_users=many", "must be an integer"),
    ("synthetic?num_users", "bad synthetic dataset spec"),
    ("synthetic?kg_noise=2.0", r"kg_noise must be in \[0, 1\]"),
])
def test_bad_synthetic_spec_is_config_error(spec, match):
    with pytest.raises(ConfigError, match=match):
        load_dataset(spec)


@pytest.mark.parametrize("name, fmt", [("sample-kgrec", "kgrec_dir"), ("sample-lastfm", "lastfm_hetrec")])
def test_detects_sample_formats(name, fmt):
    assert detect_format(SAMPLES / name).name == fmt
    data = load_dataset(str(SAMPLES / name))
    assert data.num_users > 0 and len(data.train) > 0
    assert load_dataset(str(SAMPLES / name), fmt=fmt).split == data.split


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match=r"nope: no such dataset"):
        load_dataset(str(tmp_path / "nope"))


def test_undetectable_directory_lists_formats(tmp_path):
    (tmp_path / "ratings.csv").write_text("1,2\n")
    with pytest.raises(DataError) as exc:
        load_dataset(str(tmp_path))
    message = str(exc.value)
    assert message.startswith(str(tmp_path)) and "matches no known dataset format" in message
    for name, fmt in FORMATS.items():
        assert name in message and fmt.expects in message
    assert "kgrec.toml" in message and "user_artists.dat" in message


def test_forced_format_and_bad_format_names():
    with pytest.raises(DataError, match="missing"):
        load_dataset(str(SAMPLES / "sample-lastfm"), fmt="kgrec_dir")
    with pytest.raises(ConfigError, match="unknown dataset format 'csv'"):
        load_dataset("synthetic", fmt="csv")
    with pytest.raises(ConfigError, match="does not match format"):
        load_dataset(str(SAMPLES / "sample-kgrec"), fmt="synthetic")


def test_registry_entries_are_complete():
    assert list(FORMATS)[:2] == ["kgrec_dir", "lastfm_hetrec"]
    for name, fmt in FORMATS.items():
        assert fmt.name == name and fmt.expects and callable(fmt.detect) and callable(fmt.load)


def test_describe_reports_every_part():
    info = describe(load_dataset(str(SAMPLES / "sample-kgrec")))
    assert (info["users"], info["items"]) == (30, 40)
    assert info["interactions"]["total"] == sum(info["interactions"][k] for k in ("train", "valid", "test"))
    assert info["kg"]["triples"] > 0 and info["kg"]["items_linked"] == 40
    assert info["social"]["ties"] > 0 and info["modalities"] == {"image": 8}
    assert info["interactions_per_user"]["min"] >= 1 and 0 < info["density"] < 1
