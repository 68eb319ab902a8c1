"""One training step of recdiff+gcn equals a transcription of the reference's step.

The transcription follows HKUDS/RecDiff ``main.py::train_one_epoch`` and ``models/`` line by
line in dense torch (the DGL ``update_all(copy_u, sum)`` is ``A^T x``; degrees clamped at 1),
with the same parameters and the same global-RNG draws in the same order (timesteps, noise,
then the denoiser's dropout). The batch holds every user once, so the reference's per-row
draws and kgrec's per-user draws coincide. The loss and every gradient must agree.
"""

import math

import torch
import torch.nn.functional as F

from kgrec import Batch
from kgrec.testing import tiny_augmenter, tiny_context, tiny_model, tiny_setup

REG = 1e-2


def _adjacency(src, dst, n):
    a = torch.zeros(n, n)
    a[src, dst] = 1.0
    return a


def _layer(a, x, w):
    """The reference's GCNLayer/UUGCNLayer after ``x @ w``: out-degree and in-degree norms."""
    x = x @ w
    x = x * a.sum(1).clamp(min=1).pow(-0.5).view(-1, 1)
    out = a.T @ x
    return F.leaky_relu(out * a.sum(0).clamp(min=1).pow(-0.5).view(-1, 1), 0.5)


def _timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def _reference_loss(model, aug, data, users, pos, neg):
    U, I = data.num_users, data.num_items
    # GCNModel.forward
    tu, ti = torch.as_tensor(data.train.users), torch.as_tensor(data.train.items)
    ui = _adjacency(torch.cat([tu, ti + U]), torch.cat([ti + U, tu]), U + I)
    e_u, e_i = model.user_emb.weight, model.item_emb.weight
    h, total = torch.cat([e_u, e_i]), [torch.cat([e_u, e_i])]
    for layer in range(2):
        u_f, v_f = h[:U] @ model.weights[2 * layer], h[U:] @ model.weights[2 * layer + 1]
        h = _layer(ui, torch.cat([u_f, v_f]), torch.eye(u_f.shape[1]))
        total.append(F.normalize(h, p=2, dim=1))
    ui_emb = sum(total)
    uu = _adjacency(torch.as_tensor(data.social.src), torch.as_tensor(data.social.dst), U)
    h, total = e_u, [e_u]
    for w in aug.social.weights:
        h = _layer(uu, h, w)
        total.append(F.normalize(h, p=2, dim=1))
    uu_emb = sum(total)
    # DiffusionProcess.caculate_losses with SDNet
    d = aug.denoise.diffusion
    emb_s = uu_emb[users]
    ts = torch.randint(0, d.steps, (emb_s.shape[0],)).long()
    noise = torch.randn_like(emb_s)
    emb_t = d.sqrt_alphas_cumprod[ts].view(-1, 1) * emb_s + d.sqrt_one_minus_alphas_cumprod[ts].view(-1, 1) * noise
    net = aug.denoise.denoiser
    temb = net.time_layer(_timestep_embedding(ts, 16))
    x = F.dropout(F.normalize(emb_t), 0.5, training=True)
    hidden = torch.tanh(net.layers[0](torch.cat([x, temb], dim=-1)))
    pred = net.layers[1](hidden)
    mse = ((emb_s - pred) ** 2).mean(dim=1)
    bar = d.alphas_cumprod
    snr = bar / (1 - bar)
    weight = torch.where(ts == 0, torch.ones(()), snr[ts - 1] - snr[ts])
    uuelbo = (weight * mse).mean()
    # main.py: BPR + reg on the refined user embedding, plus the diffusion loss
    user = ui_emb[:U][users] + pred
    p, n = ui_emb[U:][pos], ui_emb[U:][neg]
    score = (user * p).sum(-1) - (user * n).sum(-1)
    batch = users.shape[0]
    bpr = -score.sigmoid().log().sum() / batch
    reg = (torch.norm(user) ** 2 + torch.norm(p) ** 2 + torch.norm(n) ** 2) * REG / batch
    return bpr + reg + uuelbo


def test_one_step_matches_the_reference_transcription():
    setup = tiny_setup(dim=64)
    data = setup.data
    model = tiny_model("gcn", setup, reg=REG)
    aug = tiny_augmenter("recdiff", model, social_direction="as_given")
    model.train()
    aug.train()
    g = torch.Generator().manual_seed(1)
    users = torch.randperm(data.num_users, generator=g)  # every user once, shuffled
    pos = torch.randint(0, data.num_items, (data.num_users,), generator=g)
    neg = torch.randint(0, data.num_items, (data.num_users,), generator=g)
    params = list(model.parameters()) + list(aug.parameters())

    # kgrec: draws happen in refine for users 0..U-1; the reference draws per batch row, so
    # give the reference its rows in user order and permute the batch afterwards.
    order = torch.argsort(users)
    torch.manual_seed(7)
    batch = Batch(users, pos, neg)
    ctx = tiny_context(model, training=True, batch=batch)
    view = ctx.base
    emb = aug.refine(model.encode(view), ctx)
    ours = sum(model.loss(emb, batch, view).values()) + sum(ctx.losses.values())
    ours_grads = torch.autograd.grad(ours, params, allow_unused=True)

    torch.manual_seed(7)
    theirs = _reference_loss(model, aug, data, users[order], pos[order], neg[order])
    their_grads = torch.autograd.grad(theirs, params, allow_unused=True)

    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    for mine, ref in zip(ours_grads, their_grads):
        assert (mine is None) == (ref is None)
        if mine is not None:
            torch.testing.assert_close(mine, ref, rtol=1e-4, atol=1e-6)
