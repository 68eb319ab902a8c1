"""Noise injection: exact fractions, seeded, held-out data untouched, no duplicate or
colliding fakes."""

import numpy as np
import pytest

from kgrec.data.noise import check_noise, inject_noise, replace_interactions
from kgrec.errors import ConfigError, MissingDataError
from kgrec.testing import tiny_data


@pytest.fixture(scope="module")
def data():
    return tiny_data(seed=3)


def _keys(a, b, width):
    return np.asarray(a, np.int64) * width + np.asarray(b, np.int64)


@pytest.mark.parametrize("fraction", [0.2, 0.5, 1.0])
def test_interaction_noise_replaces_an_exact_fraction_and_spares_held_out_data(data, fraction):
    noisy = inject_noise(data, {"interactions": fraction}, seed=7)
    I = data.num_items
    clean, dirty = _keys(data.train.users, data.train.items, I), _keys(noisy.train.users, noisy.train.items, I)
    assert len(dirty) == len(clean) and len(np.unique(dirty)) == len(dirty)  # no duplicates
    assert len(np.intersect1d(clean, dirty)) == len(clean) - round(fraction * len(clean))
    held_out = np.concatenate([_keys(p.users, p.items, I) for p in (data.valid, data.test)])
    assert not np.isin(dirty, held_out).any()  # a fake never hits a validation/test item
    assert noisy.valid is data.valid and noisy.test is data.test
    # degrees kept: each user loses and gains the same number of training pairs
    assert np.array_equal(np.bincount(noisy.train.users, minlength=data.num_users),
                          np.bincount(data.train.users, minlength=data.num_users))
    assert np.all(np.diff(dirty) > 0)  # returned sorted by (user, item), as loaders give it


def test_fake_mask_marks_exactly_the_new_pairs(data):
    rng = np.random.default_rng(0)
    train, mask = replace_interactions(data, 0.3, rng)
    clean = _keys(data.train.users, data.train.items, data.num_items)
    dirty = _keys(train.users, train.items, data.num_items)
    assert np.array_equal(mask, ~np.isin(dirty, clean))


def test_social_noise(data):
    noisy = inject_noise(data, {"social": 0.5}, seed=1)
    U, n = data.num_users, len(data.social)
    clean, dirty = _keys(data.social.src, data.social.dst, U), _keys(noisy.social.src, noisy.social.dst, U)
    assert len(np.unique(dirty)) == n
    assert len(np.intersect1d(clean, dirty)) == n - round(0.5 * n)
    assert not (noisy.social.src == noisy.social.dst).any()
    assert np.array_equal(noisy.social.src, data.social.src)
    assert noisy.train is data.train and noisy.kg is data.kg  # other parts untouched


def test_kg_noise(data):
    kg = data.kg
    noisy = inject_noise(data, {"kg": 0.2}, seed=1).kg
    width = kg.num_relations * kg.num_entities

    def keys(g):
        return g.heads * width + g.relations * kg.num_entities + g.tails

    assert len(np.unique(keys(noisy))) == len(kg)
    assert len(np.intersect1d(keys(kg), keys(noisy))) == len(kg) - round(0.2 * len(kg))
    assert not (noisy.heads == noisy.tails).any()
    assert noisy.relations.max() < kg.num_relations and noisy.tails.max() < kg.num_entities
    assert np.array_equal(noisy.item_entity, kg.item_entity)


def test_seeded_and_independent_per_target(data):
    a = inject_noise(data, {"social": 0.2}, seed=5)
    b = inject_noise(data, {"social": 0.2}, seed=5)
    c = inject_noise(data, {"social": 0.2}, seed=6)
    both = inject_noise(data, {"social": 0.2, "kg": 0.3}, seed=5)
    assert np.array_equal(a.social.dst, b.social.dst)
    assert not np.array_equal(a.social.dst, c.social.dst)
    assert np.array_equal(a.social.dst, both.social.dst)  # adding KG noise changes no social draw
    assert both.split["noise"] == {"fractions": {"kg": 0.3, "social": 0.2}, "seed": 5}


def test_zero_noise_is_the_same_data_and_bad_settings_fail(data):
    assert inject_noise(data, {"social": 0.0}, seed=1) is data
    assert check_noise({"social": 0, "kg": 0.1}) == {"kg": 0.1}
    with pytest.raises(ConfigError, match="unknown noise target"):
        check_noise({"socal": 0.1})
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        check_noise({"kg": 1.5})
    with pytest.raises(MissingDataError, match="social"):
        inject_noise(tiny_data(social_ties_per_user=0), {"social": 0.2}, seed=1)
