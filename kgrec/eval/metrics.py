"""Top-K metrics from a hit matrix. Pure tensor functions, so hand-computed cases pin them.

``hits[b, r]`` is True when the item ranked ``r`` (0-based) for user ``b`` is a held-out
positive; ``num_relevant[b]`` counts that user's held-out positives (>= 1).

- Recall@K = hits in top K / num_relevant (the LightGCN reference's definition).
- Precision@K = hits in top K / K.
- HitRate@K = 1 if any hit in top K.
- NDCG@K = DCG@K / IDCG@K with binary gains and ``1 / log2(rank + 2)`` discounts; IDCG puts
  ``min(num_relevant, K)`` hits first.
"""

from __future__ import annotations

import torch
from torch import Tensor


def ranking_metrics(hits: Tensor, num_relevant: Tensor, ks: tuple[int, ...]) -> dict[str, Tensor]:
    """Per-user metrics ``{"recall@10": (B,), ...}`` for every K in ``ks``.

    Shapes: hits ``(B, Kmax)`` bool with ``Kmax >= max(ks)`` (or fewer columns when there
    are fewer items), num_relevant ``(B,)``.
    """
    hits = hits.float()
    width = hits.shape[1]
    discounts = 1.0 / torch.log2(torch.arange(2, width + 2, device=hits.device, dtype=torch.float))
    ideal_cumulative = torch.cumsum(discounts, 0)
    relevant = num_relevant.float().clamp(min=1)
    out: dict[str, Tensor] = {}
    for k in ks:
        kk = min(k, width)
        top = hits[:, :kk]
        n_hits = top.sum(1)
        dcg = (top * discounts[:kk]).sum(1)
        ideal_len = torch.clamp(num_relevant, max=kk).long().clamp(min=1)
        idcg = ideal_cumulative[ideal_len - 1]
        out[f"recall@{k}"] = n_hits / relevant
        out[f"precision@{k}"] = n_hits / k
        out[f"hit@{k}"] = (n_hits > 0).float()
        out[f"ndcg@{k}"] = dcg / idcg
    return out
