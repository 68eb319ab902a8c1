"""PromptMM's distillation losses, as the reference computes them (``codes/main.py``, 70da100).

- :func:`kl_on_values` is the reference's ``distillation`` (main.py:896-897):
  ``nn.KLDivLoss()(y, t)`` with its default ``reduction="mean"``, applied to *loss values*,
  not log-probabilities: ``mean(t * (log t - y))`` over every element.
- Pair-wise ranking distillation (main.py:629, 691, 703): ``kl_on_values`` between the
  student's and the teacher's per-sample BPR losses of the step's (user, positive, negative).
- List-wise ranking distillation per modality (main.py:657-709): for each user of the step a
  list of its positive item and ``negatives`` sampled items; ``kl_on_values`` between the
  student's ``-log(softmax(scores) + 1e-8)`` over the list and that of each modality's
  teacher embeddings.
- :func:`decoupled_kd` is the reference's ``dkd_loss`` (main.py:842-884), target-class and
  non-target parts of the list-wise distributions; the reference feeds it the soft-maxed
  lists (probabilities as logits, main.py:711).
- :func:`scaled_cosine_error` is the reference's ``sce_criterion`` (main.py:347-362) with
  ``loss_function``'s truncation (main.py:309-322): per item ``(1 - cos)^gamma`` between a
  modality's teacher embedding and the student's, optionally leaving out the largest errors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _log(x: Tensor) -> Tensor:
    """``log x`` with ``x`` floored at the smallest normal float: the same value wherever
    ``x`` is representable, and a finite gradient when a teacher's target reaches 0 (under
    ``prompt_tuning = distillation`` the targets carry gradients)."""
    return x.clamp(min=torch.finfo(x.dtype).tiny).log()


def kl_on_values(student: Tensor, teacher: Tensor) -> Tensor:
    """``mean(teacher * (log teacher - student))`` over every element (0 where teacher is 0),
    i.e. ``torch.nn.KLDivLoss()(student, teacher)``."""
    return (teacher * (_log(teacher) - student)).mean()


def rows(x: Tensor, index: Tensor) -> Tensor:
    """``x[index]`` for an index of any shape, through ``index_select``: its backward is
    deterministic on CPU, while advanced indexing's (``index_put_`` with accumulation) sums
    repeated rows in a thread-dependent order once a batch is large enough."""
    return x.index_select(0, index.reshape(-1)).view(*index.shape, *x.shape[1:])


def pair_losses(users: Tensor, items: Tensor, u: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
    """Per-sample BPR losses ``softplus(s(u, neg) - s(u, pos))``. Shapes: out ``(B,)``."""
    e = rows(users, u)
    return F.softplus((e * rows(items, neg)).sum(-1) - (e * rows(items, pos)).sum(-1))


def list_probabilities(users: Tensor, items: Tensor, u: Tensor, candidates: Tensor) -> Tensor:
    """Softmax over each user's candidate list of dot-product scores.
    Shapes: u ``(B,)``, candidates ``(B, L)``, out ``(B, L)``."""
    scores = (rows(users, u).unsqueeze(1) * rows(items, candidates)).sum(-1)
    return scores.softmax(-1)


def surprise(probabilities: Tensor) -> Tensor:
    """``-log(p + 1e-8)``, the per-candidate list-wise loss the reference distils."""
    return -(probabilities + 1e-8).log()


def decoupled_kd(student: Tensor, teacher: Tensor, alpha: float, beta: float,
                 temperature: float) -> Tensor:
    """Decoupled KD (target class = column 0, the positive) of ``student`` and ``teacher``
    logits ``(B, L)``: ``alpha * TCKD + beta * NCKD``, each a KL summed over the batch and
    divided by ``B``, times ``temperature^2``."""
    batch = student.shape[0]
    gt = torch.zeros_like(student, dtype=torch.bool)
    gt[:, 0] = True
    ps = (student / temperature).softmax(-1)
    pt = (teacher / temperature).softmax(-1)
    bs = torch.stack([ps[:, 0], ps[:, 1:].sum(-1)], dim=1)
    bt = torch.stack([pt[:, 0], pt[:, 1:].sum(-1)], dim=1)
    tckd = (bt * (_log(bt) - _log(bs))).sum() * temperature ** 2 / batch
    shift = 1000.0 * gt
    log_s2 = (student / temperature - shift).log_softmax(-1)
    pt2 = (teacher / temperature - shift).softmax(-1)
    nckd = (pt2 * (_log(pt2) - log_s2)).sum() * temperature ** 2 / batch
    return alpha * tckd + beta * nckd


def scaled_cosine_error(teacher: Tensor, student: Tensor, gamma: float, drop_rate: float = 0.0) -> Tensor:
    """Mean over rows of ``(1 - cos(teacher_r, student_r))^gamma``; with ``drop_rate`` > 0
    only the ``int((1 - drop_rate) * n)`` smallest errors count. Shapes: ``(n, d)`` each."""
    cosine = (F.normalize(teacher, dim=-1) * F.normalize(student, dim=-1)).sum(-1)
    errors = (1 - cosine).clamp(min=0).pow(gamma)
    if drop_rate > 0:
        keep = max(int((1 - drop_rate) * errors.shape[0]), 1)
        errors = torch.sort(errors).values[:keep]
    return errors.mean()
