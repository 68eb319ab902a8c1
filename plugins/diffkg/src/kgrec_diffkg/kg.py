"""The knowledge graph as DiffKG reads it, as sorted index arrays (never a dense E x E matrix).

The reference adds an inverse triple ``(t, r + R, h)`` for every ``(h, r, t)`` and keeps one
relation per ``(head, tail)`` pair (the first after sorting, so a canonical relation beats an
inverse one). :class:`KGIndex` holds exactly those pairs, sorted by the key
``head * E + tail``, so "is this pair in the KG, and with which relation?" is a binary search
(:meth:`KGIndex.lookup`) and "the neighbours of entity h" is a contiguous span.

Edges point from tail to head (``src = tail, dst = head``): a head aggregates its tails.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from kgrec import Graph, KnowledgeGraph


def segments(starts: Tensor, counts: Tensor) -> tuple[Tensor, Tensor]:
    """Concatenated ranges ``starts[j] .. starts[j] + counts[j] - 1`` and their segment ids.

    Shapes: starts, counts ``(S,)``; out positions and segment ids ``(counts.sum(),)``.
    """
    seg = torch.repeat_interleave(torch.arange(starts.shape[0], device=starts.device), counts)
    offsets = torch.cumsum(counts, 0) - counts
    positions = torch.arange(seg.shape[0], device=starts.device) - offsets[seg] + starts[seg]
    return positions, seg


@dataclass(frozen=True)
class KGIndex:
    """Unique (head, tail) pairs of the KG with inverse edges, sorted by ``head * E + tail``.

    Shapes: heads, tails, relations, keys ``(P,)``; relations index ``2 R`` types
    (``r`` canonical, ``r + R`` inverse).
    """

    num_entities: int
    num_relations: int
    heads: Tensor
    tails: Tensor
    relations: Tensor
    keys: Tensor

    @classmethod
    def build(cls, kg: KnowledgeGraph, device: torch.device) -> "KGIndex":
        E, R = int(kg.num_entities), int(kg.num_relations)
        h = torch.as_tensor(kg.heads, dtype=torch.long, device=device)
        t = torch.as_tensor(kg.tails, dtype=torch.long, device=device)
        r = torch.as_tensor(kg.relations, dtype=torch.long, device=device)
        heads, tails, rels = torch.cat([h, t]), torch.cat([t, h]), torch.cat([r, r + R])
        keys = heads * E + tails
        # sort by (key, relation): the first of each key carries the smallest relation id
        order = torch.argsort(rels, stable=True)
        order = order[torch.argsort(keys[order], stable=True)]
        sorted_keys = keys[order]
        first = torch.ones_like(sorted_keys, dtype=torch.bool)
        first[1:] = sorted_keys[1:] != sorted_keys[:-1]
        keep = order[first]
        return cls(E, 2 * R, heads[keep], tails[keep], rels[keep], sorted_keys[first])

    @property
    def num_pairs(self) -> int:
        return int(self.keys.shape[0])

    def lookup(self, heads: Tensor, tails: Tensor) -> tuple[Tensor, Tensor]:
        """Which ``(head, tail)`` pairs are in the KG, and their relation (-1 where not)."""
        keys = heads * self.num_entities + tails
        pos = torch.searchsorted(self.keys, keys).clamp(max=max(self.num_pairs - 1, 0))
        found = self.keys[pos] == keys
        return found, torch.where(found, self.relations[pos], torch.full_like(pos, -1))

    def spans(self, entities: Tensor) -> tuple[Tensor, Tensor]:
        """Start and count of each entity's pairs (its neighbours) in the sorted arrays."""
        starts = torch.searchsorted(self.heads, entities)
        ends = torch.searchsorted(self.heads, entities, right=True)
        return starts, ends - starts

    def graph(self, keep: Tensor | None = None) -> Graph:
        """The KG (optionally a subset of pairs) as a typed graph tail -> head."""
        heads, tails, rels = self.heads, self.tails, self.relations
        if keep is not None:
            heads, tails, rels = heads[keep], tails[keep], rels[keep]
        return kg_graph(heads, tails, rels, self.num_entities)


def kg_graph(heads: Tensor, tails: Tensor, relations: Tensor, num_entities: int) -> Graph:
    """A typed KG graph with messages from tail to head."""
    return Graph(tails, heads, num_entities, num_entities, etype=relations)


def sample_per_head(heads: Tensor, limit: int, generator: torch.Generator) -> Tensor:
    """A mask keeping a uniform random ``limit`` of each head's pairs (all where it has fewer).

    ``heads`` must be sorted (as in :class:`KGIndex`). The reference samples once with
    ``random.sample`` per head; this ranks random keys within each head's span instead.
    """
    n = heads.shape[0]
    noise = torch.rand(n, generator=generator).to(heads.device)
    order = torch.argsort(noise)
    order = order[torch.argsort(heads[order], stable=True)]
    starts = torch.searchsorted(heads, heads[order])
    rank = torch.empty(n, dtype=torch.long, device=heads.device)
    rank[order] = torch.arange(n, device=heads.device) - starts
    return rank < limit


def edge_subgraph(graph: Graph, keep: Tensor) -> Graph:
    etype = graph.etype[keep] if graph.etype is not None else None
    weight = graph.weight[keep] if graph.weight is not None else None
    return Graph(graph.src[keep], graph.dst[keep], graph.num_src, graph.num_dst, weight, etype)


def receptive_field(graph: Graph, targets: Tensor, hops: int) -> Graph:
    """The edges a ``hops``-layer encoder needs to compute the rows ``targets``.

    Layer ``l`` reads the in-edges of every node within ``hops - l`` hops of a target; keeping
    *all* in-edges of those nodes keeps each edge softmax unchanged, so the targets' outputs
    are exactly those of the full graph (other rows are not meaningful).
    """
    need = torch.zeros(graph.num_dst, dtype=torch.bool, device=graph.device)
    need[targets] = True
    for _ in range(hops - 1):
        need[graph.src[need[graph.dst]]] = True
    return edge_subgraph(graph, need[graph.dst])
