"""The per-epoch denoised KG, built with tensor operations.

From each item's top-k denoised entities: add the reverse of every pair, keep only pairs the
original KG has (taking their relation from it: a reverse pair gets the inverse relation),
then keep each edge with probability ``keep_rate``. The reference does the same with three
Python loops over edges and a dict of dicts; here it is a ``unique`` and a binary search over
the sorted pair keys of :class:`~kgrec_diffkg.kg.KGIndex`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kgrec import Graph
from kgrec_diffkg.kg import KGIndex, kg_graph


def denoised_pairs(index: KGIndex, heads: Tensor, tails: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Candidate pairs plus their reverses, deduplicated and masked to the KG.

    Shapes: heads, tails ``(N,)`` entity ids; returns (heads, tails, relations) ``(M,)``,
    every one a pair of the original KG with its original (or inverse) relation.
    """
    E = index.num_entities
    keys = torch.unique(torch.cat([heads * E + tails, tails * E + heads]))
    h, t = keys // E, keys % E
    found, relations = index.lookup(h, t)
    return h[found], t[found], relations[found]


def keep_edges(heads: Tensor, tails: Tensor, relations: Tensor, num_entities: int,
               keep_rate: float, generator: torch.Generator) -> Graph:
    """Each pair kept independently with probability ``keep_rate``; a typed graph tail -> head."""
    keep = torch.rand(heads.shape[0], generator=generator).to(heads.device) < keep_rate
    return kg_graph(heads[keep], tails[keep], relations[keep], num_entities)
