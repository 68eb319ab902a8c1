import torch

from kgrec.train.sampler import BPRSampler


def test_negatives_are_never_training_positives_and_cover_items():
    g = torch.Generator().manual_seed(0)
    users = torch.randint(0, 50, (2000,), generator=g)
    items = torch.randint(0, 40, (2000,), generator=g)
    keys = torch.unique(users * 40 + items)
    users, items = keys // 40, keys % 40
    sampler = BPRSampler(users, items, 40)
    seen = torch.zeros(40, dtype=torch.bool)
    positives = set(keys.tolist())
    total = 0
    for batch in sampler.epoch(128, g):
        pairs = (batch.users * 40 + batch.neg_items).tolist()
        assert not positives.intersection(pairs)
        seen[batch.neg_items] = True
        total += batch.users.shape[0]
    assert total == users.shape[0]
    assert seen.all()


def test_same_seed_same_batches():
    users = torch.arange(100) % 10
    items = torch.arange(100) % 37
    a = list(BPRSampler(users, items, 50).epoch(32, torch.Generator().manual_seed(3)))
    b = list(BPRSampler(users, items, 50).epoch(32, torch.Generator().manual_seed(3)))
    for x, y in zip(a, b):
        assert torch.equal(x.neg_items, y.neg_items) and torch.equal(x.users, y.users)
