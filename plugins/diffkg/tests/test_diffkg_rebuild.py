"""The KG index, the item rows the diffusion reads, and the per-epoch rebuild."""

import numpy as np
import pytest
import torch

from kgrec import KnowledgeGraph
from kgrec_diffkg.diffusion import KGRows
from kgrec_diffkg.kg import KGIndex, sample_per_head
from kgrec_diffkg.rebuild import denoised_pairs, keep_edges

CPU = torch.device("cpu")


def rebuild_kg(index, heads, tails, keep_rate, generator):
    """The denoised KG from candidate (head, tail) pairs, as DiffKG's fit_epoch builds it."""
    return keep_edges(*denoised_pairs(index, heads, tails), index.num_entities, keep_rate, generator)


def kg_of(triples, entities, relations, items):
    h, r, t = (np.array(c) for c in zip(*triples))
    return KnowledgeGraph(h, r, t, entities, relations, np.array(items))


def random_kg(seed=0, entities=60, triples=150, relations=4, items=20):
    rng = np.random.default_rng(seed)
    heads = rng.integers(0, items, triples)  # items are heads, as in KG-aware datasets
    return KnowledgeGraph(heads, rng.integers(0, relations, triples), rng.integers(0, entities, triples),
                          entities, relations, np.arange(items))


def test_index_has_inverse_pairs_and_prefers_the_canonical_relation():
    # (0 r1 5) and (5 r0 0): pair (0, 5) is canonical r1 and the inverse of r0 (= 0 + 2)
    index = KGIndex.build(kg_of([(0, 1, 5), (5, 0, 0), (0, 0, 5), (1, 1, 6)], 7, 2, [0, 1]), CPU)
    pairs = dict(zip(zip(index.heads.tolist(), index.tails.tolist()), index.relations.tolist()))
    assert pairs == {(0, 5): 0, (5, 0): 0, (1, 6): 1, (6, 1): 3}
    assert index.num_relations == 4 and index.keys.tolist() == sorted(index.keys.tolist())
    found, rel = index.lookup(torch.tensor([6, 1, 2]), torch.tensor([1, 6, 3]))
    assert found.tolist() == [True, True, False] and rel.tolist() == [3, 1, -1]


def test_rebuild_keeps_only_kg_pairs_with_their_relation_and_adds_reverses():
    kg = random_kg()
    index = KGIndex.build(kg, CPU)
    rng = np.random.default_rng(1)
    heads = torch.as_tensor(rng.integers(0, 20, 400))
    tails = torch.as_tensor(rng.integers(0, 60, 400))
    g = rebuild_kg(index, heads, tails, keep_rate=1.0, generator=torch.Generator().manual_seed(0))
    got = set(zip(g.dst.tolist(), g.src.tolist(), g.etype.tolist()))  # (head, tail, relation)
    truth = dict(zip(zip(index.heads.tolist(), index.tails.tolist()), index.relations.tolist()))
    candidates = set(zip(heads.tolist(), tails.tolist()))
    candidates |= {(t, h) for h, t in candidates}
    assert got == {(h, t, truth[(h, t)]) for h, t in candidates if (h, t) in truth}
    assert len(got) == g.num_edges  # no duplicate edges
    assert all((t, h, truth[(t, h)]) in got for h, t, _ in got)  # every edge has its reverse
    assert any(r >= kg.num_relations for _, _, r in got)  # reverses carry inverse relations


@pytest.mark.parametrize("keep_rate", [0.1, 0.5])
def test_rebuild_keeps_edges_at_keep_rate_reproducibly(keep_rate):
    index = KGIndex.build(random_kg(entities=400, triples=4000, items=200), CPU)
    full = rebuild_kg(index, index.heads, index.tails, 1.0, torch.Generator().manual_seed(0))
    assert full.num_edges == index.num_pairs
    a = rebuild_kg(index, index.heads, index.tails, keep_rate, torch.Generator().manual_seed(3))
    b = rebuild_kg(index, index.heads, index.tails, keep_rate, torch.Generator().manual_seed(3))
    c = rebuild_kg(index, index.heads, index.tails, keep_rate, torch.Generator().manual_seed(4))
    n = full.num_edges
    assert abs(a.num_edges / n - keep_rate) < 4 * (keep_rate * (1 - keep_rate) / n) ** 0.5
    assert torch.equal(a.src, b.src) and torch.equal(a.dst, b.dst)
    assert not (a.num_edges == c.num_edges and torch.equal(a.src, c.src))


def test_sample_per_head_caps_each_head_uniformly():
    index = KGIndex.build(random_kg(triples=300), CPU)
    degree = torch.bincount(index.heads, minlength=index.num_entities)
    picks = torch.zeros(index.num_pairs)
    for seed in range(200):
        keep = sample_per_head(index.heads, 3, torch.Generator().manual_seed(seed))
        kept = torch.bincount(index.heads[keep], minlength=index.num_entities)
        assert torch.equal(kept, degree.clamp(max=3))
        picks += keep.float()
    # each pair of a head with degree d > 3 is kept 3/d of the time
    d = degree[index.heads].float()
    expected = torch.where(d > 3, 3 / d, torch.ones_like(d))
    assert (picks / 200 - expected).abs().max() < 0.2


@pytest.mark.parametrize("rows", ["items", "entities"])
@pytest.mark.parametrize("columns", ["neighbourhood", "all"])
def test_kg_rows_densify_to_the_adjacency(rows, columns):
    kg = random_kg(seed=3)
    index = KGIndex.build(kg, CPU)
    item_entity = torch.tensor([0, -1] + list(range(2, 20)))  # item 1 has no entity
    kg_rows = KGRows.build(index, item_entity, rows, columns)
    linked = [0] + list(range(2, 20))
    assert kg_rows.items.tolist() == linked
    expected_rows = linked if rows == "items" else list(range(index.num_entities))
    assert kg_rows.row_entities.tolist() == expected_rows
    dense = kg_rows.dense(torch.arange(kg_rows.num_rows))
    adjacency = torch.zeros(index.num_entities, index.num_entities)
    adjacency[index.heads, index.tails] = 1  # includes inverse pairs
    want = adjacency[kg_rows.row_entities][:, kg_rows.columns]
    assert torch.equal(dense, want)
    # no neighbour is lost to the column restriction, and the items' columns are there
    assert torch.equal(dense.sum(1), adjacency[kg_rows.row_entities].sum(1))
    assert torch.equal(kg_rows.columns[kg_rows.item_columns], item_entity[kg_rows.items])
    if columns == "neighbourhood" and rows == "items":
        assert kg_rows.num_columns < index.num_entities
