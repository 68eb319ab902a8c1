"""Per-user splits: deterministic, disjoint, covering, and kind to low-activity users."""

import numpy as np

from kgrec.data.recdata import Interactions
from kgrec.data.split import carve_validation, pairs_sha256, split_per_user


def random_pairs(seed=0, num_users=200, num_items=300, n=5000):
    rng = np.random.default_rng(seed)
    keys = np.unique(rng.integers(0, num_users, n) * num_items + rng.integers(0, num_items, n))
    return keys // num_items, keys % num_items


def as_set(part):
    return set(zip(part.users.tolist(), part.items.tolist()))


def test_deterministic_and_seed_dependent():
    u, i = random_pairs()
    a = split_per_user(u, i, 200, 0.1, 0.2, seed=7)
    b = split_per_user(u, i, 200, 0.1, 0.2, seed=7)
    c = split_per_user(u, i, 200, 0.1, 0.2, seed=8)
    for x, y in zip(a[:3], b[:3]):
        assert np.array_equal(x.users, y.users) and np.array_equal(x.items, y.items)
    assert as_set(a[2]) != as_set(c[2])
    assert a[3] == b[3] and a[3]["sha256"] != c[3]["sha256"]


def test_independent_of_row_order():
    u, i = random_pairs()
    perm = np.random.default_rng(1).permutation(len(u))
    a = split_per_user(u, i, 200, 0.1, 0.1, seed=3)
    b = split_per_user(u[perm], i[perm], 200, 0.1, 0.1, seed=3)
    assert a[3]["sha256"] == b[3]["sha256"]


def test_disjoint_covering_and_every_user_trains():
    u, i = random_pairs()
    train, valid, test, info = split_per_user(u, i, 200, 0.1, 0.2, seed=0)
    sets = [as_set(p) for p in (train, valid, test)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert set.union(*sets) == set(zip(u.tolist(), i.tolist()))
    assert set(np.unique(train.users)) == set(np.unique(u))
    assert abs(len(test) / len(u) - 0.2) < 0.03 and abs(len(valid) / len(u) - 0.1) < 0.03
    assert info["method"] == "per_user_random" and info["seed"] == 0
    assert info["sha256"] == {k: pairs_sha256(p) for k, p in zip(("train", "valid", "test"), (train, valid, test))}


def test_low_activity_users_train_then_test_then_valid():
    # user 0: 1 pair, user 1: 2, user 2: 3, user 3: none
    u = np.array([0, 1, 1, 2, 2, 2])
    i = np.array([5, 1, 2, 3, 4, 5])
    train, valid, test, _ = split_per_user(u, i, 4, 0.1, 0.1, seed=0)
    count = lambda part: np.bincount(part.users, minlength=4).tolist()  # noqa: E731
    assert count(train) == [1, 1, 1, 0]
    assert count(test) == [0, 1, 1, 0]
    assert count(valid) == [0, 0, 1, 0]


def test_zero_valid_ratio_gives_empty_valid():
    u, i = random_pairs()
    _, valid, _, _ = split_per_user(u, i, 200, 0.0, 0.2, seed=0)
    assert len(valid) == 0


def test_carve_validation_keeps_users_training():
    u, i = random_pairs()
    train = Interactions(u, i)
    new_train, valid, info = carve_validation(train, 0.1, seed=4, num_users=200)
    assert not (as_set(new_train) & as_set(valid))
    assert as_set(new_train) | as_set(valid) == as_set(train)
    assert set(np.unique(new_train.users)) == set(np.unique(u))
    assert abs(len(valid) / len(u) - 0.1) < 0.03
    assert info["method"] == "carved_validation" and info["sha256"]["valid"] == pairs_sha256(valid)
    again = carve_validation(train, 0.1, seed=4, num_users=200)
    assert again[2] == info
