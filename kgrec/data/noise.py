"""Noise injection for robustness studies: replace a fraction of training edges with fakes.

A robustness experiment (RecDiff's "0%, 20%, 50% of social ties replaced", or the same for a
knowledge graph or the user-item graph) needs edges that are wrong but look like the rest. Each
target keeps the *source* of a replaced edge and draws a new random other end, so every
user's / head's degree is unchanged and only who they point at becomes noise:

- ``interactions``: a training pair (u, i) becomes (u, j); j is never one of u's training,
  validation or test items, so the held-out data stays exactly as it was and a fake pair
  can never leak an answer.
- ``social``: a tie (a, b) becomes (a, c), c != a and (a, c) not already a tie. Directed
  edges are replaced one by one: on a symmetric friendship graph, (b, a) stays.
- ``kg``: a triple (h, r, t) becomes (h, r', t') with a uniformly random relation and
  entity, t' != h, not already a triple.

Exactly ``round(fraction * n)`` edges are replaced, chosen uniformly; fakes are distinct from
one another and from every original edge (including the replaced ones), so the noisy graph
shares exactly ``n - round(fraction * n)`` edges with the clean one. Draws are seeded per
target, so adding KG noise never changes which social ties were replaced. Vectorised: a few
rejection rounds over all pending fakes at once, no loop over edges.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping

import numpy as np

from kgrec.data.recdata import Interactions, KnowledgeGraph, RecData, SocialGraph
from kgrec.errors import ConfigError, KgrecError, MissingDataError

TARGETS = ("interactions", "kg", "social")
"""What noise can be injected into: the user-item training graph, or a side graph."""
_STREAM = {"interactions": 1, "kg": 2, "social": 3}
MAX_ROUNDS = 200


def check_noise(noise: Mapping[str, float]) -> dict[str, float]:
    """Validate ``{target: fraction}``; zero fractions are dropped (no noise is no noise)."""
    out = {}
    for target, fraction in noise.items():
        if target not in TARGETS:
            raise ConfigError(f"unknown noise target {target!r} (targets: {', '.join(TARGETS)})")
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
            raise ConfigError(f"noise fraction for {target} must be a number in [0, 1]; got {fraction!r}")
        if fraction > 0:
            out[target] = float(fraction)
    return dict(sorted(out.items()))


def inject_noise(data: RecData, noise: Mapping[str, float], seed: int) -> RecData:
    """``data`` with each target's ``fraction`` of training edges replaced by random fakes.

    Validation and test splits are returned untouched (the same arrays). The returned data
    records what was done in ``split["noise"]`` and ``source``.
    """
    noise = check_noise(noise)
    if not noise:
        return data
    changes: dict = {}
    for target, fraction in noise.items():
        if target != "interactions" and not data.has(target):
            raise MissingDataError(f"cannot inject {target} noise: dataset {data.name!r} has no "
                                   f"{'knowledge graph' if target == 'kg' else 'social graph'}")
        rng = np.random.default_rng([int(seed), _STREAM[target]])
        if target == "interactions":
            changes["train"] = replace_interactions(data, fraction, rng)[0]
        elif target == "social":
            changes["social"] = replace_social(data.social, data.num_users, fraction, rng)[0]
        else:
            changes["kg"] = replace_kg(data.kg, fraction, rng)[0]
    tag = ", ".join(f"{t}={f:g}" for t, f in noise.items())
    split = {**dict(data.split), "noise": {"fractions": noise, "seed": int(seed)}}
    return data.replace(**changes, split=split, source=f"{data.source} + noise({tag}; seed {seed})")


def _choose(n: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask of exactly round(fraction * n) positions, uniformly chosen."""
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(n, size=int(round(fraction * n)), replace=False)] = True
    return mask


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


def draw_fresh(src: np.ndarray, width: int, forbidden: np.ndarray, rng: np.random.Generator,
               reject: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
               what: str = "edges") -> np.ndarray:
    """For each ``src[k]``, a slot in ``[0, width)`` such that ``src * width + slot`` is not in
    ``forbidden`` nor drawn twice, and ``reject(src, slot)`` is False; rejection sampling in
    rounds over every pending edge at once."""
    slots = np.empty(len(src), dtype=np.int64)
    taken = np.unique(np.asarray(forbidden, dtype=np.int64))
    pending = np.arange(len(src))
    for _ in range(MAX_ROUNDS):
        if len(pending) == 0:
            return slots
        cand = rng.integers(0, width, len(pending))
        keys = src[pending] * width + cand
        ok = ~_member(keys, taken)
        if reject is not None:
            ok &= ~reject(src[pending], cand)
        first = np.zeros(len(keys), dtype=bool)
        first[np.unique(keys, return_index=True)[1]] = True  # equal keys share one verdict
        ok &= first
        slots[pending[ok]] = cand[ok]
        taken = np.union1d(taken, keys[ok])
        pending = pending[~ok]
    if len(pending) == 0:
        return slots
    raise KgrecError(f"could not place {len(pending)} fake {what}: their sources have (almost) no "
                     f"free partner left; use a smaller noise fraction")


def replace_interactions(data: RecData, fraction: float,
                         rng: np.random.Generator) -> tuple[Interactions, np.ndarray]:
    """Training pairs with ``fraction`` replaced, sorted by (user, item), and the fake mask."""
    train, I = data.train, data.num_items
    mask = _choose(len(train), fraction, rng)
    seen = np.concatenate([p.users * I + p.items for p in (data.train, data.valid, data.test)])
    items = train.items.copy()
    items[mask] = draw_fresh(train.users[mask], I, seen, rng, what="user-item pairs")
    order = np.lexsort((items, train.users))
    return Interactions(train.users[order], items[order]), mask[order]


def replace_social(social: SocialGraph, num_users: int, fraction: float,
                   rng: np.random.Generator) -> tuple[SocialGraph, np.ndarray]:
    """Ties with ``fraction`` rewired to random other users (no self-ties), and the fake mask."""
    mask = _choose(len(social), fraction, rng)
    dst = social.dst.copy()
    dst[mask] = draw_fresh(social.src[mask], num_users, social.src * num_users + social.dst, rng,
                           reject=lambda s, d: s == d, what="social ties")
    return SocialGraph(social.src.copy(), dst), mask


def replace_kg(kg: KnowledgeGraph, fraction: float,
               rng: np.random.Generator) -> tuple[KnowledgeGraph, np.ndarray]:
    """Triples with ``fraction`` given a random (relation, tail), and the fake mask."""
    E, R = kg.num_entities, kg.num_relations
    width = R * E  # a slot is relation * E + tail
    mask = _choose(len(kg), fraction, rng)
    existing = kg.heads * width + kg.relations * E + kg.tails
    slots = draw_fresh(kg.heads[mask], width, existing, rng,
                       reject=lambda h, s: s % E == h, what="KG triples")
    relations, tails = kg.relations.copy(), kg.tails.copy()
    relations[mask], tails[mask] = slots // E, slots % E
    return dataclasses.replace(kg, heads=kg.heads.copy(), relations=relations, tails=tails), mask
