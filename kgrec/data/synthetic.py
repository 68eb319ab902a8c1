"""The default dataset: a deterministic synthetic world with planted structure and noise.

Why synthetic: it needs no download, runs a LightGCN epoch in well under a second on two CPU
cores, and, unlike real data, we know the truth. Users and items belong to latent clusters;
users interact mostly inside their own cluster(s), with a popularity skew, so that propagating
over the interaction graph (LightGCN) beats plain MF. Every side graph carries *planted noise*
at a configured rate, which is exactly what the diffusion augmenters (DiffKG, RecDiff, DiffMM)
claim to remove; :func:`make_synthetic_with_truth` returns which edges/items are noise, so a
denoiser can be checked against the truth.

- KG: items are entities ``0..I-1``, followed by ``attributes_per_cluster`` attribute
  entities per cluster. A true triple links an item to an attribute of its cluster (the
  attribute's slot fixes the relation); a ``kg_noise`` fraction of all triples instead link
  an item to a uniformly random entity by a random relation.
- Social: directed ties, mostly to users of the same cluster; a ``social_noise`` fraction of
  ties go to uniformly random users.
- Modalities ``image`` and ``audio``: the item's cluster centroid plus Gaussian noise; a
  ``feature_noise`` fraction of items get pure noise of the same scale instead.

Ids: users and items are the indices themselves (``RecData.user_ids`` / ``item_ids`` None).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from kgrec.config import SplitConfig
from kgrec.data.recdata import KnowledgeGraph, RecData, SocialGraph
from kgrec.data.split import split_per_user
from kgrec.errors import ConfigError


@dataclass
class SyntheticConfig:
    """Sizes, structure and noise rates of the synthetic dataset (override as
    ``synthetic?num_users=500&seed=1``)."""

    num_users: int = 2000
    num_items: int = 1500
    num_clusters: int = 16
    interactions_per_user: float = 20.0
    """Mean interactions per user (heavy-tailed, at least ``min_interactions``)."""
    min_interactions: int = 5
    cluster_affinity: float = 0.8
    """Share of a user's interactions inside the user's clusters; the rest are anywhere."""
    secondary_share: float = 0.25
    """Share of the in-cluster interactions that go to the user's second cluster."""
    popularity: float = 0.8
    """Zipf exponent of item popularity (0 = uniform)."""
    attributes_per_cluster: int = 8
    num_relations: int = 6
    triples_per_item: int = 4
    """KG triples per item (0 = no KG)."""
    kg_noise: float = 0.3
    """Fraction of KG triples that link an item to a random entity."""
    social_ties_per_user: int = 5
    """Outgoing ties per user (0 = no social graph)."""
    social_noise: float = 0.3
    """Fraction of social ties to a random user."""
    image_dim: int = 64
    """0 = no image modality."""
    audio_dim: int = 32
    """0 = no audio modality."""
    feature_sigma: float = 1.0
    """Spread of an item's features around its cluster centroid (centroids have unit scale)."""
    feature_noise: float = 0.3
    """Fraction of items whose features (per modality) are pure noise."""
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.num_users >= 1 and self.num_items >= 2, "synthetic: need >= 1 user and >= 2 items"),
            (1 <= self.num_clusters <= min(self.num_users, self.num_items),
             "synthetic.num_clusters must be in [1, min(num_users, num_items)]"),
            (self.min_interactions >= 1, "synthetic.min_interactions must be >= 1"),
            (self.interactions_per_user >= self.min_interactions,
             "synthetic.interactions_per_user must be >= min_interactions"),
            (self.popularity >= 0 and self.feature_sigma >= 0, "synthetic: popularity, feature_sigma >= 0"),
            (self.attributes_per_cluster >= 1 and self.num_relations >= 1,
             "synthetic: attributes_per_cluster and num_relations must be >= 1"),
            (min(self.triples_per_item, self.social_ties_per_user, self.image_dim, self.audio_dim) >= 0,
             "synthetic: sizes must be >= 0"),
        ]
        for name in ("cluster_affinity", "secondary_share", "kg_noise", "social_noise", "feature_noise"):
            checks.append((0 <= getattr(self, name) <= 1, f"synthetic.{name} must be in [0, 1]"))
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def spec(self) -> str:
        """The dataset spec that reproduces this config (``synthetic`` plus non-defaults)."""
        default = SyntheticConfig()
        changed = [f"{f.name}={getattr(self, f.name)}" for f in fields(self)
                   if getattr(self, f.name) != getattr(default, f.name)]
        return "synthetic" + ("?" + "&".join(changed) if changed else "")


@dataclass(frozen=True)
class SyntheticTruth:
    """What was planted: cluster memberships and which side edges / items are noise."""

    user_cluster: np.ndarray
    user_secondary: np.ndarray
    item_cluster: np.ndarray
    kg_noise: np.ndarray
    """bool per KG triple (aligned with ``data.kg``)."""
    social_noise: np.ndarray
    """bool per social tie (aligned with ``data.social``)."""
    feature_noise: dict[str, np.ndarray] = field(default_factory=dict)
    """modality -> bool per item."""


def _balanced(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return rng.permutation(np.arange(n) % k)


def _exact_mask(rng: np.random.Generator, n: int, fraction: float) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(n, size=int(round(fraction * n)), replace=False)] = True
    return mask


def _group_sampler(groups: np.ndarray, weights: np.ndarray, num_groups: int):
    """Return draw(group_ids, u) -> member index, picking members of a group by weight."""
    order = np.argsort(groups, kind="stable")
    g, w = groups[order], weights[order]
    totals = np.bincount(g, weights=w, minlength=num_groups)
    sizes = np.bincount(g, minlength=num_groups)
    ends = np.cumsum(sizes)
    within = (np.cumsum(w) - np.concatenate(([0.0], np.cumsum(totals)[:-1]))[g]) / totals[g]
    within[ends - 1] = 1.0  # guard against rounding: each group's cdf ends at exactly 1
    keys = g + within

    def draw(group_ids: np.ndarray, u: np.ndarray) -> np.ndarray:
        j = np.searchsorted(keys, group_ids + u, side="right")
        return order[np.minimum(j, ends[group_ids] - 1)]

    return draw


def _interactions(cfg: SyntheticConfig, rng: np.random.Generator, user_cluster: np.ndarray,
                  user_secondary: np.ndarray, item_cluster: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    U, I, C = cfg.num_users, cfg.num_items, cfg.num_clusters
    extra = cfg.interactions_per_user - cfg.min_interactions
    counts = cfg.min_interactions + rng.poisson(rng.gamma(2.0, extra / 2.0, U) if extra > 0 else np.zeros(U))
    counts = np.minimum(counts, I // 2 if I >= 4 else I)
    draws = np.ceil(counts * 1.6).astype(np.int64) + 2  # oversample: duplicates are dropped below
    users = np.repeat(np.arange(U), draws)
    n = len(users)
    popularity = (rng.permutation(I) + 1.0) ** -cfg.popularity
    in_cluster = rng.random(n) < cfg.cluster_affinity
    secondary = rng.random(n) < cfg.secondary_share
    cluster = np.where(secondary, user_secondary[users], user_cluster[users])
    by_cluster = _group_sampler(item_cluster, popularity, C)(cluster, rng.random(n))
    anywhere = _group_sampler(np.zeros(I, np.int64), popularity, 1)(np.zeros(n, np.int64), rng.random(n))
    items = np.where(in_cluster, by_cluster, anywhere)
    _, first = np.unique(users * I + items, return_index=True)
    first = np.sort(first)  # distinct pairs, still grouped by user in draw order
    users, items = users[first], items[first]
    starts = np.concatenate(([0], np.cumsum(np.bincount(users, minlength=U))[:-1]))
    keep = np.arange(len(users)) - starts[users] < counts[users]
    return users[keep], items[keep]


def _knowledge_graph(cfg: SyntheticConfig, rng: np.random.Generator,
                     item_cluster: np.ndarray) -> tuple[KnowledgeGraph, np.ndarray]:
    I, A, R = cfg.num_items, cfg.attributes_per_cluster, cfg.num_relations
    E = I + cfg.num_clusters * A
    k = min(cfg.triples_per_item, A)
    slots = np.argsort(rng.random((I, A)), axis=1)[:, :k].ravel()  # k distinct attributes per item
    heads = np.repeat(np.arange(I), k)
    tails = I + item_cluster[heads] * A + slots
    relations = slots % R
    noise = _exact_mask(rng, len(heads), cfg.kg_noise)
    random_tail = rng.integers(0, E - 1, len(heads))
    random_tail += random_tail >= heads  # never a self-loop
    tails = np.where(noise, random_tail, tails)
    relations = np.where(noise, rng.integers(0, R, len(heads)), relations)
    _, first = np.unique(np.stack([heads, relations, tails], 1), axis=0, return_index=True)
    first = np.sort(first)
    kg = KnowledgeGraph(heads[first], relations[first], tails[first], num_entities=E, num_relations=R,
                        item_entity=np.arange(I, dtype=np.int64))
    return kg, noise[first]


def _social(cfg: SyntheticConfig, rng: np.random.Generator,
            user_cluster: np.ndarray) -> tuple[SocialGraph, np.ndarray]:
    U, d = cfg.num_users, cfg.social_ties_per_user
    src = np.repeat(np.arange(U), d)
    same = _group_sampler(user_cluster, np.ones(U), cfg.num_clusters)(user_cluster[src], rng.random(len(src)))
    noise = _exact_mask(rng, len(src), cfg.social_noise)
    dst = np.where(noise, rng.integers(0, U, len(src)), same)
    _, first = np.unique(src * U + dst, return_index=True)
    first = np.sort(first)
    first = first[src[first] != dst[first]]
    return SocialGraph(src[first], dst[first]), noise[first]


def _modality(cfg: SyntheticConfig, rng: np.random.Generator, item_cluster: np.ndarray,
              dim: int) -> tuple[np.ndarray, np.ndarray]:
    I = cfg.num_items
    centroids = rng.normal(size=(cfg.num_clusters, dim))
    features = centroids[item_cluster] + cfg.feature_sigma * rng.normal(size=(I, dim))
    noise = _exact_mask(rng, I, cfg.feature_noise)
    # pure noise with the same per-coordinate variance, so noisy items are not told apart by norm
    pure = np.sqrt(1.0 + cfg.feature_sigma ** 2) * rng.normal(size=(I, dim))
    return np.where(noise[:, None], pure, features).astype(np.float32), noise


def make_synthetic_with_truth(config: SyntheticConfig | None = None,
                              split: SplitConfig | None = None) -> tuple[RecData, SyntheticTruth]:
    """The synthetic dataset and what was planted in it (for checking denoisers)."""
    cfg = config or SyntheticConfig()
    split = split or SplitConfig()
    # one child generator per part, so sizing one part never reshuffles another
    rng, kg_rng, social_rng, *feature_rngs = map(np.random.default_rng,
                                                 np.random.SeedSequence(cfg.seed).spawn(5))
    U, I, C = cfg.num_users, cfg.num_items, cfg.num_clusters
    user_cluster = _balanced(rng, U, C)
    item_cluster = _balanced(rng, I, C)
    user_secondary = (user_cluster + rng.integers(1, C, U)) % C if C > 1 else user_cluster.copy()
    users, items = _interactions(cfg, rng, user_cluster, user_secondary, item_cluster)
    kg, kg_noise = None, np.zeros(0, dtype=bool)
    if cfg.triples_per_item > 0:
        kg, kg_noise = _knowledge_graph(cfg, kg_rng, item_cluster)
    social, social_noise = None, np.zeros(0, dtype=bool)
    if cfg.social_ties_per_user > 0:
        social, social_noise = _social(cfg, social_rng, user_cluster)
    modalities, feature_noise = {}, {}
    for (name, dim), frng in zip((("image", cfg.image_dim), ("audio", cfg.audio_dim)), feature_rngs):
        if dim > 0:
            modalities[name], feature_noise[name] = _modality(cfg, frng, item_cluster, dim)
    train, valid, test, info = split_per_user(users, items, U, split.valid_ratio, split.test_ratio, split.seed)
    data = RecData(name="synthetic", num_users=U, num_items=I, train=train, valid=valid, test=test,
                   kg=kg, social=social, modalities=modalities, split=info, source=cfg.spec())
    truth = SyntheticTruth(user_cluster, user_secondary, item_cluster, kg_noise, social_noise, feature_noise)
    return data, truth


def make_synthetic(config: SyntheticConfig | None = None, split: SplitConfig | None = None) -> RecData:
    """The default dataset (``kgrec run`` with no ``--dataset``); deterministic in ``config.seed``
    (data) and ``split.seed`` (which pairs are held out)."""
    return make_synthetic_with_truth(config, split)[0]


TINY = dict(num_users=80, num_items=60, num_clusters=4, interactions_per_user=8.0,
            attributes_per_cluster=3, social_ties_per_user=3, image_dim=8, audio_dim=4)
"""Sizes of the tiny dataset: every side input, seconds to train on (tests, plugin checks)."""


def make_tiny(seed: int = 0, **overrides) -> RecData:
    """A small synthetic dataset with every side input (KG, social graph, two modalities)."""
    return make_synthetic(SyntheticConfig(seed=seed, **{**TINY, **overrides}))


def tiny_spec(seed: int = 0) -> str:
    """The ``--dataset`` spec of :func:`make_tiny`, so a run on it can be reloaded from its
    recorded config alone."""
    return "synthetic?" + "&".join(f"{k}={v}" for k, v in {"seed": seed, **TINY}.items())
