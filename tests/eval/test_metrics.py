"""Metrics against cases computed by hand."""

import math

import pytest
import torch

from kgrec.eval.metrics import ranking_metrics


def test_single_user_hand_computed():
    # ranked list: hit, miss, hit, miss, miss; the user has 3 relevant items in total
    hits = torch.tensor([[True, False, True, False, False]])
    m = ranking_metrics(hits, torch.tensor([3]), (1, 3, 5))
    assert m["recall@1"].item() == pytest.approx(1 / 3)
    assert m["recall@3"].item() == pytest.approx(2 / 3)
    assert m["precision@3"].item() == pytest.approx(2 / 3)
    assert m["precision@5"].item() == pytest.approx(2 / 5)
    assert m["hit@1"].item() == 1.0
    dcg3 = 1 / math.log2(2) + 1 / math.log2(4)
    idcg3 = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg@3"].item() == pytest.approx(dcg3 / idcg3)
    # at K=5 the ideal list still has only 3 relevant items
    assert m["ndcg@5"].item() == pytest.approx(dcg3 / idcg3)


def test_ndcg_ideal_truncated_at_k():
    # 1 relevant item ranked second: DCG = 1/log2(3), IDCG@2 = 1
    m = ranking_metrics(torch.tensor([[False, True]]), torch.tensor([1]), (2,))
    assert m["ndcg@2"].item() == pytest.approx(1 / math.log2(3))
    # 5 relevant, top-2 both hits: IDCG uses min(5, 2) = 2 positions -> NDCG = 1
    m = ranking_metrics(torch.tensor([[True, True]]), torch.tensor([5]), (2,))
    assert m["ndcg@2"].item() == pytest.approx(1.0)
    assert m["recall@2"].item() == pytest.approx(2 / 5)


def test_no_hits_is_zero_and_batch_is_per_user():
    hits = torch.tensor([[False, False], [True, False]])
    m = ranking_metrics(hits, torch.tensor([2, 1]), (2,))
    assert m["recall@2"].tolist() == [0.0, 1.0]
    assert m["hit@2"].tolist() == [0.0, 1.0]
    assert m["ndcg@2"].tolist() == pytest.approx([0.0, 1.0])


def test_k_larger_than_list():
    hits = torch.tensor([[True, False, True]])
    m = ranking_metrics(hits, torch.tensor([2]), (50,))
    assert m["recall@50"].item() == pytest.approx(1.0)
    assert m["precision@50"].item() == pytest.approx(2 / 50)
