"""PromptMM's multi-modal teacher and its soft-prompt module.

Written from the reference's ``codes/Models.py`` (``Teacher_Model``, ``PromptLearner``) and
``codes/main.py`` (graph normalisation, the teacher's loss); line numbers below are that
repository's at 70da100.

- **Graphs** (main.py:81-82, ``csr_norm(mean_flag=True)``): users gather items with weight
  ``(deg_u + 1e-8)^-1/2`` and items gather users with ``(deg_i + 1e-8)^-1/2``; one side only,
  no self-loops.
- **Hard tokens** (Models.py:254-290): per modality the first ``d`` principal components of
  the raw item features, averaged over modalities, are the items' tokens; users' tokens are
  their items' tokens gathered over the graph.
- **Soft prompts** (Models.py:292-305): one Linear for users' tokens, one for items'.
- **Teacher forward** (Models.py:169-240): each modality's raw features plus the normalised
  feature prompt ``P_i (P_i^T F_m)`` go through a Linear and dropout, then one hop to users
  and back to items; the id tables plus normalised prompts propagate ``layers`` times
  (users from items, then items from those users; the last layer soft-maxed over the
  embedding dimension) and are averaged over layers; each modality's normalised embedding,
  times ``model_cat_rate``, is added to the id embedding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kgrec import Graph, GraphOps

from kgrec_promptmm.config import TeacherConfig
from kgrec_promptmm.distill import pair_losses, rows


@dataclass(frozen=True)
class TeacherGraphs:
    """The teacher's two one-sided normalised bipartite graphs, over separate user and item
    node sets: ``to_users`` (items -> users) and ``to_items`` (users -> items)."""

    ops: GraphOps
    to_users: Graph
    to_items: Graph

    @classmethod
    def build(cls, ops: GraphOps, users: Tensor, items: Tensor, num_users: int,
              num_items: int) -> "TeacherGraphs":
        ones = torch.ones(users.shape[0], device=users.device)
        deg_u = torch.zeros(num_users, device=users.device).index_add_(0, users, ones)
        deg_i = torch.zeros(num_items, device=users.device).index_add_(0, items, ones)
        to_users = Graph(items, users, num_items, num_users, (deg_u + 1e-8).rsqrt()[users])
        to_items = Graph(users, items, num_users, num_items, (deg_i + 1e-8).rsqrt()[items])
        return cls(ops, to_users, to_items)

    def users_from(self, item_x: Tensor) -> Tensor:
        return self.ops.spmm(self.to_users, item_x)

    def items_from(self, user_x: Tensor) -> Tensor:
        return self.ops.spmm(self.to_items, user_x)


def principal_components(features: Tensor, k: int) -> Tensor:
    """The first ``k`` principal-component scores of ``features`` ``(n, f)``, as scikit-learn's
    ``PCA(k).fit_transform`` gives them with its ``u``-based sign convention (each
    component's largest-magnitude score positive). Exact SVD; columns past ``min(n, f)``
    are zero. Shapes: out ``(n, k)``."""
    x = features.double()
    x = x - x.mean(0, keepdim=True)
    u, s, _ = torch.linalg.svd(x, full_matrices=False)
    r = min(k, s.shape[0])
    scores = u[:, :r] * s[:r]
    signs = torch.sign(scores.gather(0, scores.abs().argmax(0, keepdim=True)))
    scores = scores * torch.where(signs == 0, torch.ones_like(signs), signs)
    out = torch.zeros(features.shape[0], k, dtype=torch.float64, device=features.device)
    out[:, :r] = scores
    return out.float()


def hard_tokens(features: Mapping[str, Tensor], graphs: TeacherGraphs, dim: int) -> tuple[Tensor, Tensor]:
    """Users' and items' hard tokens: the mean over modalities of each modality's ``dim``
    principal components, gathered to users over the graph. Shapes: ``(U, d)``, ``(I, d)``."""
    items = torch.stack([principal_components(f, dim) for f in features.values()]).mean(0)
    return graphs.users_from(items), items


class PromptLearner(nn.Module):
    """Soft prompts: a Linear over users' hard tokens and one over items'."""

    def __init__(self, dim: int, device: torch.device):
        super().__init__()
        self.users = nn.Linear(dim, dim, device=device)
        self.items = nn.Linear(dim, dim, device=device)

    def forward(self, hard_users: Tensor, hard_items: Tensor, dropout: float) -> tuple[Tensor, Tensor]:
        return (F.dropout(self.users(hard_users), dropout, training=dropout > 0),
                F.dropout(self.items(hard_items), dropout, training=dropout > 0))


@dataclass
class TeacherOutput:
    """One teacher forward pass. ``modal_*`` per modality, in the data's order; the prompts
    are None without the prompt module."""

    users: Tensor
    items: Tensor
    modal_users: dict[str, Tensor]
    modal_items: dict[str, Tensor]
    prompt_users: Tensor | None
    prompt_items: Tensor | None


class Teacher(nn.Module):
    """The multi-modal graph teacher (see the module docstring)."""

    def __init__(self, num_users: int, num_items: int, feature_dims: Mapping[str, int], dim: int,
                 config: TeacherConfig, device: torch.device):
        super().__init__()
        self.config = config
        self.names = list(feature_dims)
        self.user_emb = nn.Parameter(nn.init.xavier_uniform_(torch.empty(num_users, dim, device=device)))
        self.item_emb = nn.Parameter(nn.init.xavier_uniform_(torch.empty(num_items, dim, device=device)))
        self.project = nn.ModuleList()
        for name in self.names:
            linear = nn.Linear(feature_dims[name], dim, device=device)
            nn.init.xavier_uniform_(linear.weight)
            self.project.append(linear)
        self.prompt = PromptLearner(dim, device) if config.prompt else None

    def forward(self, graphs: TeacherGraphs, features: Mapping[str, Tensor], hard: tuple[Tensor, Tensor],
                training: bool, prompt: PromptLearner | None = None) -> TeacherOutput:
        """``training`` turns the modality and prompt dropout on; ``prompt`` replaces the
        teacher's own prompt module (the student-tuned copy)."""
        cfg = self.config
        learner = prompt if prompt is not None else self.prompt
        p_users = p_items = None
        if learner is not None:
            p_users, p_items = learner(*hard, cfg.prompt_dropout if training else 0.0)
        modal_users: dict[str, Tensor] = {}
        modal_items: dict[str, Tensor] = {}
        for name, linear in zip(self.names, self.project):
            raw = features[name]
            if p_items is not None and cfg.feat_soft_token_rate > 0:
                raw = raw + cfg.feat_soft_token_rate * F.normalize(p_items @ (p_items.T @ raw), dim=1)
            h = F.dropout(linear(raw), cfg.dropout, training=training)
            modal_users[name] = graphs.users_from(h)
            modal_items[name] = graphs.items_from(modal_users[name])
        u, i = self.user_emb, self.item_emb
        if p_users is not None:
            u = u + cfg.soft_token_rate * F.normalize(p_users, dim=1)
            i = i + cfg.soft_token_rate * F.normalize(p_items, dim=1)
        us, its = [u], [i]
        for layer in range(cfg.layers):
            u = graphs.users_from(i)
            if layer == cfg.layers - 1:
                u = torch.softmax(u, dim=-1)
            i = graphs.items_from(u)
            if layer == cfg.layers - 1:
                i = torch.softmax(i, dim=-1)
            us.append(u)
            its.append(i)
        users = torch.stack(us).mean(0)
        items = torch.stack(its).mean(0)
        for name in self.names:
            users = users + cfg.model_cat_rate * F.normalize(modal_users[name], dim=1)
            items = items + cfg.model_cat_rate * F.normalize(modal_items[name], dim=1)
        return TeacherOutput(users, items, modal_users, modal_items, p_users, p_items)


def teacher_loss(out: TeacherOutput, u: Tensor, pos: Tensor, neg: Tensor, config: TeacherConfig,
                 num_items: int) -> dict[str, Tensor]:
    """The teacher's training loss (main.py:427-453), as named terms (already weighted).

    - ``bpr``: BPR on the final embeddings; ``reg``: ``reg * (sum ||e||^2 / 2) / B`` over the
      batch's final user, positive and negative embeddings (``bpr_loss``, main.py:914-925);
    - ``prompt_bpr``: ``prompt_bpr_weight`` x BPR on the soft prompts themselves;
    - ``modal_bpr``: ``modal_bpr_weight`` x the sum of each modality's BPR on its embeddings;
    - ``feat_reg``: ``feat_reg`` x ``sum_m (||E_m^items||^2 + ||E_m^users||^2) / 2I``
      (``feat_reg_loss_calculation``, main.py:258-263).
    """
    batch = u.shape[0]
    eu, ep, en = rows(out.users, u), rows(out.items, pos), rows(out.items, neg)
    terms = {"bpr": F.softplus((eu * en).sum(-1) - (eu * ep).sum(-1)).mean(),
             "reg": config.reg * (eu.pow(2).sum() + ep.pow(2).sum() + en.pow(2).sum()) / (2 * batch)}
    if out.prompt_users is not None and config.prompt_bpr_weight > 0:
        terms["prompt_bpr"] = config.prompt_bpr_weight * pair_losses(
            out.prompt_users, out.prompt_items, u, pos, neg).mean()
    if config.modal_bpr_weight > 0:
        terms["modal_bpr"] = config.modal_bpr_weight * sum(
            pair_losses(out.modal_users[m], out.modal_items[m], u, pos, neg).mean() for m in out.modal_users)
    if config.feat_reg > 0:
        squares = sum(out.modal_items[m].pow(2).sum() + out.modal_users[m].pow(2).sum()
                      for m in out.modal_users)
        terms["feat_reg"] = config.feat_reg * squares / (2 * num_items)
    return terms


def feature_tensors(modalities: Mapping[str, np.ndarray], device: torch.device) -> dict[str, Tensor]:
    """The data's raw item features as float32 tensors, in the data's order."""
    return {name: torch.as_tensor(np.asarray(matrix, dtype=np.float32), device=device)
            for name, matrix in modalities.items()}
