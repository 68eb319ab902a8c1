"""Sampled evaluation: the negatives (seeded, never a known item, no repeats) and ranking among
them only, against a brute-force reference; and a run that uses it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgrec.data.recdata import Interactions
from kgrec.eval.ranking import Positives, evaluate
from kgrec.eval.sampled import sample_negatives


def _pairs(rng, users, items, n):
    keys = np.unique(rng.integers(0, users * items, n))
    return Interactions(keys // items, keys % items)


@pytest.mark.parametrize("items,per_item", [(400, 3), (25, 4), (12, 100)])  # sparse, mixed, dense
def test_negatives_are_unknown_distinct_seeded_and_counted(items, per_item):
    rng = np.random.default_rng(items)
    users = 30
    train = _pairs(rng, users, items, 150)
    test = _pairs(rng, users, items, 40)
    neg = sample_negatives(test, [train, test], users, items, per_item, seed=9)
    again = sample_negatives(test, [train, test], users, items, per_item, seed=9)
    other = sample_negatives(test, [train, test], users, items, per_item, seed=10)
    assert np.array_equal(neg.items, again.items) and np.array_equal(neg.users, again.users)
    assert not np.array_equal(neg.items, other.items) or len(neg) == 0 or items == 12
    keys = neg.users * items + neg.items
    known = np.concatenate([train.users * items + train.items, test.users * items + test.items])
    assert len(np.unique(keys)) == len(keys) and not np.isin(keys, known).any()
    free = items - np.bincount(np.unique(known) // items, minlength=users)
    want = np.minimum(np.bincount(test.users, minlength=users) * per_item, free)
    assert np.array_equal(np.bincount(neg.users, minlength=users), want)


def test_ranking_among_candidates_matches_brute_force():
    rng = np.random.default_rng(0)
    users, items = 20, 60
    train = _pairs(rng, users, items, 150)
    test_all = _pairs(rng, users, items, 60)
    train_keys = train.users * items + train.items
    keep = ~np.isin(test_all.users * items + test_all.items, train_keys)
    test = Interactions(test_all.users[keep], test_all.items[keep])
    neg = sample_negatives(test, [train, test], users, items, 5, seed=1)
    scores = rng.standard_normal((users, items)).astype(np.float32)
    device = torch.device("cpu")
    got = evaluate(lambda u: torch.from_numpy(scores)[u], Positives([test], users, device),
                   Positives([train], users, device), items, (3,), 7,
                   candidates=Positives([neg], users, device))
    full = evaluate(lambda u: torch.from_numpy(scores)[u], Positives([test], users, device),
                    Positives([train], users, device), items, (3,), 7)
    recalls = []
    for u in np.unique(test.users):
        truth = test.items[test.users == u]
        pool = np.concatenate([truth, neg.items[neg.users == u]])
        top = pool[np.argsort(-scores[u, pool], kind="stable")[:3]]
        recalls.append(len(set(top.tolist()) & set(truth.tolist())) / len(truth))
    assert got["recall@3"] == pytest.approx(np.mean(recalls))
    assert got["recall@3"] >= full["recall@3"]  # fewer competitors: the inflation the docs warn of


def test_a_run_with_the_sampled_protocol(tmp_path):
    from kgrec.testing import tiny_run

    full = tiny_run("none", "mf", tmp_path / "full")
    sampled = tiny_run("none", "mf", tmp_path / "sampled",
                       options={"eval": {"protocol": "sampled", "negatives": 5}})
    assert sampled.config.eval.protocol == "sampled"
    assert sampled.test["recall@10"] >= full.test["recall@10"]
    again = tiny_run("none", "mf", tmp_path / "again", options={"eval": {"protocol": "sampled", "negatives": 5}})
    assert again.test == sampled.test
