"""kgrec's own directory format: round trips, the committed sample, errors and repairs."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from kgrec.config import SplitConfig
from kgrec.data import SyntheticConfig, load_kgrec_dir, make_synthetic, save_kgrec_dir
from kgrec.data.checks import DataRepairWarning
from kgrec.data.recdata import KnowledgeGraph
from kgrec.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "datasets" / "sample-kgrec"


def small():
    return make_synthetic(SyntheticConfig(num_users=60, num_items=50, num_clusters=4, image_dim=6, audio_dim=3))


def same(a, b):
    assert (a.name, a.num_users, a.num_items) == (b.name, b.num_users, b.num_items)
    for part in ("train", "valid", "test"):
        x, y = getattr(a, part), getattr(b, part)
        assert np.array_equal(x.users, y.users) and np.array_equal(x.items, y.items)
    for field in ("heads", "relations", "tails", "item_entity"):
        assert np.array_equal(getattr(a.kg, field), getattr(b.kg, field))
    assert (a.kg.num_entities, a.kg.num_relations) == (b.kg.num_entities, b.kg.num_relations)
    assert np.array_equal(a.social.src, b.social.src) and np.array_equal(a.social.dst, b.social.dst)
    assert a.modalities.keys() == b.modalities.keys()
    for name in a.modalities:
        assert np.array_equal(a.modalities[name], b.modalities[name])


def test_round_trip(tmp_path):
    data = small()
    save_kgrec_dir(data, tmp_path / "ds")
    back = load_kgrec_dir(tmp_path / "ds")
    same(data, back)
    assert back.split["method"] == "given" and back.split["sha256"] == data.split["sha256"]
    assert back.split["recorded"]["seed"] == data.split["seed"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left


def test_round_trip_item_entities_and_relation_names(tmp_path):
    data = small()
    item_entity = np.full(data.num_items, -1)
    item_entity[::2] = np.arange(0, data.num_items, 2) + 100
    # one triple from an item's entity, so the KG links to the items (else loading refuses it)
    kg = KnowledgeGraph(np.append(data.kg.heads, 100), np.append(data.kg.relations, 0),
                        np.append(data.kg.tails, 0), data.kg.num_entities + 200, data.kg.num_relations,
                        item_entity, tuple(f"r{k}" for k in range(data.kg.num_relations)))
    data = data.replace(kg=kg)
    save_kgrec_dir(data, tmp_path / "ds")
    assert (tmp_path / "ds" / "item_entities.tsv").exists()
    back = load_kgrec_dir(tmp_path / "ds")
    same(data, back)
    assert back.kg.relation_names == kg.relation_names


def test_committed_sample_is_current(tmp_path):
    spec = importlib.util.spec_from_file_location("make_samples", REPO / "datasets" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = save_kgrec_dir(module.sample_kgrec(), tmp_path / "sample-kgrec")
    committed = sorted(p.relative_to(SAMPLE) for p in SAMPLE.rglob("*") if p.is_file())
    assert committed == sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    for rel in committed:
        assert (SAMPLE / rel).read_bytes() == (fresh / rel).read_bytes(), f"{rel} is stale: run make_samples.py"
    data = load_kgrec_dir(SAMPLE)
    assert (data.num_users, data.num_items) == (30, 40) and data.has("kg") and data.has("social")
    assert list(data.modalities) == ["image"]


def test_single_interactions_file_is_split_by_config(tmp_path):
    root = tmp_path / "ds"
    root.mkdir()
    (root / "kgrec.toml").write_text("format_version = 1\nnum_users = 3\nnum_items = 4\n")
    (root / "interactions.tsv").write_text("0\t0\n0\t1\n0\t2\n1\t3\n2\t0\n2\t1\n")
    data = load_kgrec_dir(root, SplitConfig(valid_ratio=0.2, test_ratio=0.2, seed=5))
    assert data.split["method"] == "per_user_random" and data.split["seed"] == 5
    assert len(data.train) + len(data.valid) + len(data.test) == 6 and data.kg is None
    assert data.name == "ds"


def test_missing_valid_is_carved_from_train(tmp_path):
    root = tmp_path / "ds"
    save_kgrec_dir(small(), root)
    (root / "valid.tsv").unlink()
    data = load_kgrec_dir(root, SplitConfig(valid_ratio=0.2, seed=1))
    assert data.split["method"] == "given+carved_validation" and len(data.valid) > 0


def dataset(tmp_path):
    root = tmp_path / "ds"
    save_kgrec_dir(small(), root)
    return root


@pytest.mark.parametrize("change, match", [
    (lambda r: (r / "train.tsv").unlink(), r"train\.tsv: missing"),
    (lambda r: (r / "test.tsv").unlink(), r"test\.tsv: missing"),
    (lambda r: (r / "kgrec.toml").unlink(), r"kgrec\.toml: missing"),
    (lambda r: (r / "kg.tsv").unlink(), r"kg\.tsv: missing"),
    (lambda r: (r / "features" / "image.npy").unlink(), r"image\.npy: missing"),
    (lambda r: (r / "train.tsv").write_text("0\t1\n0\t999\n"), r"train\.tsv:2: item 999 out of range \[0, 50\)"),
    (lambda r: (r / "social.tsv").write_text("0\t1\n1\tx\n"), r"social\.tsv:2: column 2: 'x'"),
    (lambda r: np.save(r / "features" / "audio.npy", np.zeros((49, 3))), r"audio\.npy: feature matrix has 49 rows"),
    (lambda r: np.save(r / "features" / "audio.npy", np.zeros(50)), r"audio\.npy: feature matrix must be 2-d"),
    (lambda r: np.save(r / "features" / "audio.npy", np.full((50, 3), np.nan)), r"audio\.npy: .*non-finite"),
    (lambda r: (r / "kgrec.toml").write_text("format_version = 2\n"), r"format_version must be 1"),
    (lambda r: (r / "kgrec.toml").write_text("format_version = [\n"), r"kgrec\.toml: invalid TOML"),
    (lambda r: (r / "interactions.tsv").write_text("0\t1\n"), r"both interactions\.tsv and train\.tsv"),
])
def test_errors_name_the_file(tmp_path, change, match):
    root = dataset(tmp_path)
    change(root)
    with pytest.raises(DataError, match=match):
        load_kgrec_dir(root)


def test_unlisted_side_file_is_an_error(tmp_path):
    root = dataset(tmp_path)
    text = (root / "kgrec.toml").read_text().replace("social = true", "social = false")
    (root / "kgrec.toml").write_text(text)
    with pytest.raises(DataError, match=r"social\.tsv: present but kgrec\.toml does not list it"):
        load_kgrec_dir(root)


def test_repairs_warn_with_file_and_count(tmp_path):
    root = dataset(tmp_path)
    train = (root / "train.tsv").read_text().splitlines()
    (root / "train.tsv").write_text("\n".join(train + train[:3]) + "\n")
    (root / "social.tsv").write_text((root / "social.tsv").read_text() + "4\t4\n5\t5\n")
    (root / "test.tsv").write_text((root / "test.tsv").read_text() + train[0] + "\n")
    with pytest.warns(DataRepairWarning) as record:
        data = load_kgrec_dir(root)
    messages = [str(w.message) for w in record]
    assert any("train.tsv: dropped 3 duplicate interaction pairs" in m for m in messages)
    assert any("social.tsv: dropped 2 social self-loops" in m for m in messages)
    assert any("test.tsv: dropped 1 test pairs that are also training pairs" in m for m in messages)
    assert (data.social.src != data.social.dst).all()


def test_float16_features_are_upcast(tmp_path):
    root = dataset(tmp_path)
    np.save(root / "features" / "audio.npy", np.ones((50, 3), dtype=np.float16))
    assert load_kgrec_dir(root).modalities["audio"].dtype == np.float32


def test_save_refuses_to_clobber(tmp_path):
    data = small()
    save_kgrec_dir(data, tmp_path / "ds")
    with pytest.raises(DataError, match="already exists"):
        save_kgrec_dir(data, tmp_path / "ds")
    save_kgrec_dir(data, tmp_path / "ds", overwrite=True)
    (tmp_path / "other").mkdir()
    with pytest.raises(DataError, match="not a kgrec dataset"):
        save_kgrec_dir(data, tmp_path / "other", overwrite=True)


def test_failed_save_leaves_nothing_half_written(tmp_path, monkeypatch):
    data = small()
    save_kgrec_dir(data, tmp_path / "ds")
    before = {p.name: p.read_bytes() for p in (tmp_path / "ds").iterdir() if p.is_file()}

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", boom)
    with pytest.raises(OSError):
        save_kgrec_dir(data.replace(name="new"), tmp_path / "ds", overwrite=True)
    with pytest.raises(OSError):
        save_kgrec_dir(data, tmp_path / "fresh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    assert before == {p.name: p.read_bytes() for p in (tmp_path / "ds").iterdir() if p.is_file()}
