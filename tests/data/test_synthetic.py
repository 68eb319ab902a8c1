"""The synthetic generator: deterministic, sized as documented, noise planted at the set rates."""

import time

import numpy as np
import pytest

from kgrec.config import SplitConfig
from kgrec.data import SyntheticConfig, make_synthetic
from kgrec.data.synthetic import make_synthetic_with_truth
from kgrec.errors import ConfigError

SMALL = dict(num_users=400, num_items=300, num_clusters=8)


def all_pairs(data):
    return (np.concatenate([p.users for p in (data.train, data.valid, data.test)]),
            np.concatenate([p.items for p in (data.train, data.valid, data.test)]))


def test_default_size_and_parts_and_speed():
    start = time.perf_counter()
    data = make_synthetic()
    assert time.perf_counter() - start < 2.0
    assert (data.name, data.num_users, data.num_items) == ("synthetic", 2000, 1500)
    users, items = all_pairs(data)
    assert 35_000 <= len(users) <= 45_000
    assert len(np.unique(users * data.num_items + items)) == len(users)  # no duplicate pairs
    assert data.kg.num_entities == 1500 + 16 * 8 and np.array_equal(data.kg.item_entity, np.arange(1500))
    assert data.has("kg") and data.has("social") and data.has("modalities")
    assert {k: v.shape for k, v in data.modalities.items()} == {"image": (1500, 64), "audio": (1500, 32)}
    assert all(v.dtype == np.float32 for v in data.modalities.values())
    assert data.split["method"] == "per_user_random" and data.source == "synthetic"


def test_deterministic_in_seed():
    a, b = make_synthetic(SyntheticConfig(**SMALL)), make_synthetic(SyntheticConfig(**SMALL))
    c = make_synthetic(SyntheticConfig(**SMALL, seed=1))
    assert a.split == b.split and a.split != c.split
    assert np.array_equal(a.kg.tails, b.kg.tails) and np.array_equal(a.social.dst, b.social.dst)
    assert np.array_equal(a.modalities["image"], b.modalities["image"])
    assert not np.array_equal(a.modalities["image"], c.modalities["image"])


def test_split_seed_changes_split_not_data():
    a = make_synthetic(SyntheticConfig(**SMALL), SplitConfig(seed=1))
    b = make_synthetic(SyntheticConfig(**SMALL), SplitConfig(seed=2))
    assert a.split["sha256"]["test"] != b.split["sha256"]["test"]
    ua, ia = all_pairs(a)
    ub, ib = all_pairs(b)
    assert set(zip(ua.tolist(), ia.tolist())) == set(zip(ub.tolist(), ib.tolist()))


def test_interactions_cluster_and_popularity():
    data, truth = make_synthetic_with_truth(SyntheticConfig(**SMALL))
    users, items = all_pairs(data)
    inside = (truth.item_cluster[items] == truth.user_cluster[users]) | \
             (truth.item_cluster[items] == truth.user_secondary[users])
    assert inside.mean() > 0.7
    counts = np.sort(np.bincount(items, minlength=data.num_items))[::-1]
    assert counts[:30].sum() > 3 * counts[-30:].sum()  # popularity skew


@pytest.mark.parametrize("noise", [0.0, 0.3, 0.6])
def test_planted_noise_fractions(noise):
    cfg = SyntheticConfig(**SMALL, kg_noise=noise, social_noise=noise, feature_noise=noise)
    data, truth = make_synthetic_with_truth(cfg)
    kg = data.kg
    # a triple is "true" when its tail is an attribute entity of the head item's cluster
    first_attr = cfg.num_items + truth.item_cluster[kg.heads] * cfg.attributes_per_cluster
    on_cluster = (kg.tails >= first_attr) & (kg.tails < first_attr + cfg.attributes_per_cluster)
    assert not on_cluster[~truth.kg_noise].size or on_cluster[~truth.kg_noise].all()
    assert abs((~on_cluster).mean() - noise) < 0.04
    assert abs(truth.kg_noise.mean() - noise) < 0.02
    # social: cross-cluster ties come only from noise
    cross = truth.user_cluster[data.social.src] != truth.user_cluster[data.social.dst]
    assert not cross[~truth.social_noise].any()
    assert abs(cross.mean() - noise * (1 - 1 / cfg.num_clusters)) < 0.04
    assert (data.social.src != data.social.dst).all()
    # features: noisy items carry no cluster signal
    for name, matrix in data.modalities.items():
        mask = truth.feature_noise[name]
        assert abs(mask.mean() - noise) < 0.01
        centroid = np.stack([matrix[~mask & (truth.item_cluster == c)].mean(0) for c in range(cfg.num_clusters)])
        own = np.einsum("id,id->i", matrix, centroid[truth.item_cluster])
        if mask.any() and (~mask).any():
            assert own[~mask].mean() > 3 * abs(own[mask].mean())


def test_zero_sizes_drop_side_data():
    data = make_synthetic(SyntheticConfig(**SMALL, triples_per_item=0, social_ties_per_user=0,
                                          image_dim=0, audio_dim=16))
    assert data.kg is None and data.social is None and list(data.modalities) == ["audio"]


@pytest.mark.parametrize("bad", [dict(kg_noise=1.5), dict(num_clusters=0), dict(num_items=1),
                                 dict(interactions_per_user=2.0)])
def test_bad_config_is_config_error(bad):
    with pytest.raises(ConfigError):
        SyntheticConfig(**bad)


def test_spec_round_trips_overrides():
    assert SyntheticConfig().spec() == "synthetic"
    assert SyntheticConfig(num_users=500, seed=1).spec() == "synthetic?num_users=500&seed=1"
