"""``kgrec.load(run_dir)`` answers in the dataset's own ids: recommend, score, embeddings,
config and metrics, on CPU, with or without the dataset."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
import torch

import kgrec
from kgrec import registry
from kgrec.errors import KgrecError
from kgrec.experiment.ids import IDS_FILE



@pytest.fixture(scope="module")
def trained(recbole_run):
    return kgrec.load(recbole_run)


def internal_scores(trained, raw_users):
    index = trained.ids.users.indices(raw_users)
    emb = trained.embeddings()
    return trained.model.score(emb, torch.as_tensor(index)).numpy()


def test_recommend_answers_in_raw_ids_best_first(trained):
    users = ["u6", "u20", "u11"]
    recs = trained.recommend(users, k=5)
    assert recs.users.tolist() == users and recs.items.shape == (3, 5) and not recs.fallback.any()
    assert all(str(i).startswith("i") for i in recs.items.reshape(-1))
    scores = internal_scores(trained, users)
    data = trained.data
    for b, user in enumerate(users):
        u = trained.ids.users.indices([user])[0]
        seen = set(np.concatenate([p.items[p.users == u] for p in (data.train, data.valid, data.test)]).tolist())
        row = scores[b].copy()
        row[list(seen)] = -np.inf
        expected = np.argsort(-row, kind="stable")[:5]
        assert trained.ids.items.indices(recs.items[b]).tolist() == expected.tolist()
        assert np.allclose(recs.scores[b], row[expected], rtol=1e-5, atol=1e-6)
        assert list(recs.scores[b]) == sorted(recs.scores[b], reverse=True)
    first = recs[0]
    assert first.user == "u6" and len(first.items) == 5 and first.fallback is False
    assert json.loads(json.dumps(recs.to_dict()))["users"][1]["user"] == "u20"


def test_exclude_seen_options(trained):
    data = trained.data
    u = int(data.test.users[0])
    user = trained.user_ids[u]
    train_items = set(trained.item_ids[data.train.items[data.train.users == u]].tolist())
    test_items = set(trained.item_ids[data.test.items[data.test.users == u]].tolist())
    everything = trained.data.num_items
    only_train = set(trained.recommend(user, k=everything, exclude_seen="train").items[0].tolist())
    assert not only_train & train_items and test_items <= only_train
    all_splits = set(trained.recommend(user, k=everything).items[0].tolist())
    assert not all_splits & (train_items | test_items)
    nothing = trained.recommend(user, k=everything, exclude_seen=False)
    assert set(nothing.items[0].tolist()) == set(trained.item_ids.tolist())
    # fewer items left than k: empty slots, dropped when iterating
    full = trained.recommend(user, k=everything)
    assert (full.items[0] == "").any() and np.isnan(full.scores[0]).any()
    assert len(full[0].items) == int((~np.isnan(full.scores[0])).sum())


def test_candidates_restrict_the_choice(trained):
    pool = ["i1", "i2", "i3", "i5", "i8"]
    recs = trained.recommend(["u6", "u20"], k=3, candidates=pool, exclude_seen=False)
    assert set(recs.items.reshape(-1).tolist()) <= set(pool)
    scores = trained.score(["u6"], pool)[0]
    assert recs.items[0].tolist() == [pool[j] for j in np.argsort(-scores, kind="stable")[:3]]
    assert trained.recommend("u6", k=50, candidates=pool, exclude_seen=False).items.shape == (1, 5)


def test_score_and_embeddings_use_raw_ids(trained):
    grid = trained.score(["u6", "u11"], ["i19", "i4", "i2"])
    assert grid.shape == (2, 3) and grid.dtype == np.float32
    full = trained.score(["u6", "u11"])
    assert full.shape == (2, trained.data.num_items)
    assert np.allclose(grid, full[:, trained.ids.items.indices(["i19", "i4", "i2"])])
    users, items = trained.user_embeddings(), trained.item_embeddings(["i19", "i4"])
    assert users.ids.tolist() == trained.user_ids.tolist() and users.vectors.shape[0] == trained.data.num_users
    assert items.ids.tolist() == ["i19", "i4"]
    u = users.vectors[trained.ids.users.indices(["u6", "u11"])]
    assert np.allclose(u @ items.vectors.T, grid[:, :2], atol=1e-5)  # lightgcn scores are dot products


def test_unknown_users_error_or_fall_back_to_popularity(trained):
    with pytest.raises(KgrecError, match="unknown user id 'nobody'") as exc:
        trained.recommend(["u6", "nobody"])
    assert "\n" not in str(exc.value)
    recs = trained.recommend(["u6", "nobody"], k=4, unknown="popular")
    assert recs.fallback.tolist() == [False, True]
    counts = np.bincount(trained.data.train.items, minlength=trained.data.num_items)
    top = trained.item_ids[np.argsort(-counts, kind="stable")[:4]]
    assert recs.items[1].tolist() == top.tolist() and recs.scores[1].tolist() == sorted(counts)[::-1][:4]


@pytest.mark.parametrize("call, words", [
    (lambda t: t.recommend([6]), "user id 6 is an integer, but this run's user ids are strings"),
    (lambda t: t.recommend(["u6"], k=0), "k must be a positive integer; got 0"),
    (lambda t: t.recommend(["u6"], k=2.5), "k must be a positive integer"),
    (lambda t: t.recommend(["u6"], candidates=["nope"]), "unknown candidate item id 'nope'"),
    (lambda t: t.recommend(["u6"], exclude_seen="maybe"), "exclude_seen must be"),
    (lambda t: t.recommend(["u6"], unknown="guess"), "unknown must be 'error' or 'popular'"),
    (lambda t: t.score(["u6"], [3]), "item id 3 is an integer"),
])
def test_bad_input_is_a_one_line_error(trained, call, words):
    with pytest.raises(KgrecError, match=words) as exc:
        call(trained)
    assert "\n" not in str(exc.value)


def test_integer_ids_that_are_not_indices(filmtrust_run):
    trained = kgrec.load(filmtrust_run)
    assert trained.user_ids.dtype == np.int64 and trained.user_ids.tolist() != list(range(len(trained.user_ids)))
    user = int(trained.user_ids[-1])
    recs = trained.recommend(user, k=2, exclude_seen=False)
    assert recs.users.tolist() == [user] and set(recs.items[0].tolist()) <= set(trained.item_ids.tolist())
    with pytest.raises(KgrecError, match="is a string, but this run's user ids are integers"):
        trained.recommend([str(user)])


def test_config_metrics_and_history(trained, recbole_run):
    metrics = json.loads((recbole_run / "metrics.json").read_text())
    assert trained.metrics == metrics and trained.config.recommender == "lightgcn"
    assert [row["epoch"] for row in trained.history] == [1, 2, 3]
    assert trained.evaluate("test") == metrics["test"]


def test_load_without_the_dataset_gives_the_same_answers(tmp_path, make_run):
    run_dir = make_run(tmp_path, "sample-recbole", epochs=2)
    with_data = kgrec.load(run_dir)
    shutil.rmtree(tmp_path / "data")
    alone = kgrec.load(run_dir)
    assert with_data.source == "dataset" and alone.source == "run"
    assert alone.evaluate("test") == with_data.evaluate("test") == with_data.metrics["test"]
    users = with_data.user_ids[:7]
    assert np.array_equal(alone.score(users), with_data.score(users))
    a, b = alone.recommend(users, k=5), with_data.recommend(users, k=5)
    assert np.array_equal(a.items, b.items) and np.array_equal(a.scores, b.scores)
    with pytest.raises(KgrecError, match="no such dataset"):
        kgrec.load(run_dir, source="dataset")


@pytest.mark.skipif("diffkg" not in registry.available("augmenter"), reason="diffkg plugin not installed")
def test_side_data_components_need_their_dataset(tmp_path, make_run):
    run_dir = make_run(tmp_path, "sample-recbole", augmenter="diffkg", epochs=1)
    assert kgrec.load(run_dir).source == "dataset"
    shutil.rmtree(tmp_path / "data")
    with pytest.raises(KgrecError, match="augmenter 'diffkg' needs a knowledge graph, which a run "
                                         "directory does not keep") as exc:
        kgrec.load(run_dir)
    assert "\n" not in str(exc.value)
    with pytest.raises(KgrecError, match="needs a knowledge graph"):
        kgrec.load(run_dir, source="run")


def test_a_changed_dataset_falls_back_to_the_run_directory_with_a_warning(tmp_path, make_run):
    run_dir = make_run(tmp_path, "sample-recbole", epochs=1)
    inter = tmp_path / "data" / "sample-recbole" / "sample.inter"
    lines = inter.read_text().splitlines(keepends=True)
    inter.write_text("".join(lines[:-3]))
    with pytest.warns(UserWarning, match="could not be used .* differs"):
        trained = kgrec.load(run_dir)
    assert trained.source == "run" and trained.evaluate("test") == trained.metrics["test"]


def test_incomplete_and_incompatible_run_directories(tmp_path, recbole_run):
    broken = tmp_path / "broken"
    shutil.copytree(recbole_run, broken)
    (broken / "metrics.json").unlink()
    with pytest.raises(KgrecError, match="holds no finished run"):
        kgrec.load(broken)
    newer = tmp_path / "newer"
    shutil.copytree(recbole_run, newer)
    manifest = json.loads((newer / "config.json").read_text())
    manifest["run_format"] = 99
    (newer / "config.json").write_text(json.dumps(manifest))
    with pytest.raises(KgrecError, match="run format 99.*upgrade kgrec"):
        kgrec.load(newer)
    alone = tmp_path / "alone"
    shutil.copytree(recbole_run, alone)
    (alone / "split.npz").unlink()
    with pytest.raises(KgrecError, match="incomplete: no split.npz"):
        kgrec.load(alone, source="run")


def test_a_run_from_before_ids_npz_uses_the_dataset_ids(tmp_path, recbole_run):
    old = tmp_path / "old"
    shutil.copytree(recbole_run, old)
    (old / IDS_FILE).unlink()
    manifest = json.loads((old / "config.json").read_text())
    del manifest["run_format"]
    (old / "config.json").write_text(json.dumps(manifest))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trained = kgrec.load(old)
    assert trained.user_ids.tolist() == kgrec.load(recbole_run).user_ids.tolist()
