"""Full ranking: masking and batching against a brute-force numpy reference."""

import numpy as np
import pytest
import torch

from kgrec.data.recdata import Interactions
from kgrec.eval.ranking import Positives, evaluate


def _pairs(rng, users, items, n):
    keys = np.unique(rng.integers(0, users * items, n))
    return Interactions(keys // items, keys % items)


def _brute_force(scores, train, test, k):
    recalls = []
    for u in range(scores.shape[0]):
        truth = set(test.items[test.users == u].tolist())
        if not truth:
            continue
        s = scores[u].copy()
        s[train.items[train.users == u]] = -np.inf
        top = np.argsort(-s, kind="stable")[:k]
        recalls.append(len(truth & set(top.tolist())) / len(truth))
    return float(np.mean(recalls))


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_matches_brute_force(batch_size):
    rng = np.random.default_rng(0)
    users, items = 30, 25
    train = _pairs(rng, users, items, 200)
    test_all = _pairs(rng, users, items, 80)
    train_keys = set((train.users * items + train.items).tolist())
    keep = np.array([u * items + i not in train_keys for u, i in zip(test_all.users, test_all.items)])
    test = Interactions(test_all.users[keep], test_all.items[keep])
    scores = rng.standard_normal((users, items)).astype(np.float32)
    score_t = torch.from_numpy(scores)
    device = torch.device("cpu")
    got = evaluate(lambda u: score_t[u], Positives([test], users, device),
                   Positives([train], users, device), items, (5,), batch_size)
    assert got["recall@5"] == pytest.approx(_brute_force(scores, train, test, 5), abs=1e-6)


def test_masked_items_never_ranked():
    # user 0 scores its training item highest; it must not count, and its test item is 2nd
    scores = torch.tensor([[10.0, 1.0, 5.0, 0.0]])
    train = Interactions(np.array([0]), np.array([0]))
    test = Interactions(np.array([0]), np.array([2]))
    cpu = torch.device("cpu")
    got = evaluate(lambda u: scores[u], Positives([test], 1, cpu), Positives([train], 1, cpu), 4, (1,), 8)
    assert got["recall@1"] == 1.0


def test_gather_returns_each_users_items():
    parts = Interactions(np.array([2, 0, 2, 1]), np.array([5, 3, 1, 4]))
    pos = Positives([parts], 3, torch.device("cpu"))
    rows, items = pos.gather(torch.tensor([2, 0]))
    got = sorted(zip(rows.tolist(), items.tolist()))
    assert got == [(0, 1), (0, 5), (1, 3)]
