"""Sampled evaluation: rank each user's held-out items among a few random negatives.

The protocol of NCF (He et al., 2017: the left-out item among 100 random ones) and of RecBole's
``uni100`` mode: for every held-out (user, item) pair, ``negatives`` items the user has never
interacted with (in any split) are drawn uniformly, without repetition per user; each user's
held-out items are ranked among their negatives only, and the usual metrics are computed over
that short list.

It is a weaker protocol than full ranking, kept only to compare with papers that report it:
Krichene and Rendle (KDD 2020, "On Sampled Metrics for Item Recommendation") show that sampled
metrics are inconsistent with the full-ranking ones: they are inflated, and they can reorder
models. Full ranking stays the default and the protocol to report.

The negatives are drawn once per split from ``eval.negatives_seed`` (not ``train.seed``), so
every epoch, seed and arm of a study ranks against the same items. Vectorised: rejection rounds
over all pending draws at once for users with many free items, one sort of random keys for the
few users whose free items barely exceed what they need; no loop over users.
"""

from __future__ import annotations

import numpy as np

from kgrec.data.noise import draw_fresh
from kgrec.data.recdata import Interactions

STREAM = {"valid": 1, "test": 2}


def sample_negatives(held_out: Interactions, known: list[Interactions], num_users: int,
                     num_items: int, per_item: int, seed: int, split: str = "test") -> Interactions:
    """``per_item`` negatives per held-out pair, per user none of its ``known`` items (every
    split) and no item twice; a user with fewer free items gets all of them. Sorted by user."""
    rng = np.random.default_rng([int(seed), STREAM.get(split, 3)])
    held = np.bincount(held_out.users, minlength=num_users).astype(np.int64)
    users_all = np.concatenate([k.users for k in known]) if known else np.zeros(0, np.int64)
    items_all = np.concatenate([k.items for k in known]) if known else np.zeros(0, np.int64)
    keys = np.unique(users_all.astype(np.int64) * num_items + items_all)
    positives = np.bincount(keys // num_items, minlength=num_users)
    free = num_items - positives
    want = np.minimum(held * per_item, np.maximum(free, 0))
    # users who need most of their free items: one key sort per user row (few, small catalogues)
    dense = (want > 0) & (2 * want >= free)
    sparse = (want > 0) & ~dense
    parts_u, parts_i = [], []
    src = np.repeat(np.flatnonzero(sparse), want[sparse])
    if len(src):
        parts_u.append(src)
        parts_i.append(draw_fresh(src, num_items, keys, rng, what="evaluation negatives"))
    dense_users = np.flatnonzero(dense)
    for block in np.array_split(dense_users, max(1, int(np.ceil(len(dense_users) * num_items / 2**24)))):
        if len(block) == 0:
            continue  # blocks bound memory at 16M keys; the loop is over blocks, not users
        scores = rng.random((len(block), num_items))
        row_of = np.full(num_users, -1, dtype=np.int64)
        row_of[block] = np.arange(len(block))
        ku = keys // num_items
        inside = row_of[ku] >= 0
        scores[row_of[ku[inside]], (keys % num_items)[inside]] = np.inf  # known items last
        order = np.argsort(scores, axis=1)
        rank_ok = np.arange(num_items)[None, :] < want[block][:, None]
        rows = np.broadcast_to(block[:, None], order.shape)
        parts_u.append(rows[rank_ok])
        parts_i.append(order[rank_ok])
    if not parts_u:
        return Interactions.empty()
    users = np.concatenate(parts_u).astype(np.int64)
    items = np.concatenate(parts_i).astype(np.int64)
    order = np.lexsort((items, users))
    return Interactions(users[order], items[order])
