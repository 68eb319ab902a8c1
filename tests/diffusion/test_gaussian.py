"""The shared Gaussian diffusion core: schedule, forward process, loss, reverse chain."""

import numpy as np
import pytest
import torch

from kgrec.diffusion import Denoiser, DiffusionConfig, GaussianDiffusion
from kgrec.diffusion.gaussian import make_betas


def test_linear_var_schedule_makes_one_minus_alpha_bar_linear():
    cfg = DiffusionConfig(steps=20, noise_scale=1.0, noise_min=1e-4, noise_max=0.01,
                          schedule="linear-var", beta_fixed=False)
    bar = np.cumprod(1 - make_betas(cfg))
    np.testing.assert_allclose(1 - bar, np.linspace(1e-4, 1e-2, 20), rtol=1e-9, atol=1e-12)


def test_linear_schedule_makes_betas_linear_and_beta_fixed_pins_the_first():
    cfg = DiffusionConfig(steps=10, noise_scale=0.1, noise_min=1e-4, noise_max=0.02,
                          schedule="linear", beta_fixed=False)
    np.testing.assert_allclose(make_betas(cfg), np.linspace(1e-5, 2e-3, 10))
    fixed = make_betas(DiffusionConfig(steps=10, noise_scale=0.1, schedule="linear", beta_fixed=True))
    assert fixed[0] == pytest.approx(1e-4)
    np.testing.assert_allclose(fixed[1:], make_betas(cfg)[1:])


@pytest.mark.parametrize("schedule", ["linear-var", "linear"])
def test_q_sample_has_the_forward_process_mean_and_variance(schedule):
    torch.manual_seed(0)
    diffusion = GaussianDiffusion(DiffusionConfig(steps=10, noise_scale=1.0, noise_min=0.05,
                                                  noise_max=0.6, schedule=schedule,
                                                  beta_fixed=False))
    x0 = torch.tensor([1.5, -2.0, 0.0, 0.5])
    n = 100_000
    for step in (0, 4, 9):
        t = torch.full((n,), step, dtype=torch.long)
        xt = diffusion.q_sample(x0.expand(n, -1), t)
        bar = float(diffusion.alphas_cumprod[step])
        torch.testing.assert_close(xt.mean(0), bar ** 0.5 * x0, atol=0.015, rtol=0)
        torch.testing.assert_close(xt.var(0), torch.full((4,), 1 - bar), atol=0.015, rtol=0)
    # the noise grows with t: the last step is far noisier than the first
    assert float(diffusion.alphas_cumprod[9]) < 0.6 * float(diffusion.alphas_cumprod[0])


def test_training_loss_weights_each_row_by_the_snr_drop():
    diffusion = GaussianDiffusion(DiffusionConfig(steps=5, noise_scale=1.0, noise_max=0.5,
                                                  reweight=True))
    x0 = torch.ones(5, 3)
    t = torch.arange(5)
    loss, x0_hat = diffusion.training_loss(lambda x, _t: torch.zeros_like(x), x0, t)
    assert torch.equal(x0_hat, torch.zeros(5, 3))
    snr = diffusion.alphas_cumprod / (1 - diffusion.alphas_cumprod)
    expected = torch.cat([torch.ones(1), snr[:-1] - snr[1:]])  # mse is 1 on every row
    torch.testing.assert_close(loss, expected)
    plain = GaussianDiffusion(DiffusionConfig(steps=5, noise_scale=1.0, noise_max=0.5, reweight=False))
    torch.testing.assert_close(plain.training_loss(lambda x, _t: torch.zeros_like(x), x0, t)[0],
                               torch.ones(5))


def test_reverse_chain_is_deterministic_without_sampling_noise():
    torch.manual_seed(0)
    cfg = DiffusionConfig(steps=8, noise_scale=1.0, noise_max=0.3, sampling_steps=0,
                          sampling_noise=False)
    diffusion = GaussianDiffusion(cfg)
    denoiser = Denoiser(6, hidden=[16], time_dim=4).eval()
    x0 = torch.randn(32, 6)
    first = diffusion.sample(denoiser, x0)
    torch.randn(100)  # moving the global RNG must not matter
    second = diffusion.sample(denoiser, x0, generator=torch.Generator().manual_seed(5))
    assert torch.equal(first, second)
    assert not torch.allclose(first, x0)  # the chain did something

    noisy = GaussianDiffusion(DiffusionConfig(steps=8, noise_scale=1.0, noise_max=0.3,
                                              sampling_noise=True))
    a = noisy.sample(denoiser, x0, generator=torch.Generator().manual_seed(1))
    b = noisy.sample(denoiser, x0, generator=torch.Generator().manual_seed(2))
    c = noisy.sample(denoiser, x0, generator=torch.Generator().manual_seed(1))
    assert not torch.allclose(a, b) and torch.equal(a, c)


def test_reverse_chain_ends_at_the_denoisers_last_prediction():
    # At t = 0 the posterior mean is exactly the predicted x_0, whatever x_t is.
    diffusion = GaussianDiffusion(DiffusionConfig(steps=6, noise_scale=1.0, noise_max=0.4))
    target = torch.tensor([[0.3, -1.0, 2.0]])
    out = diffusion.sample(lambda x, _t: target.expand_as(x), torch.randn(4, 3))
    torch.testing.assert_close(out, target.expand(4, 3))


def test_denoiser_learns_a_two_point_distribution():
    torch.manual_seed(0)
    centre = torch.tensor([1.0, -1.0, 0.5, 2.0])
    cfg = DiffusionConfig(steps=10, noise_scale=1.0, noise_min=0.05, noise_max=0.5,
                          beta_fixed=False, reweight=False, sampling_steps=10)
    diffusion = GaussianDiffusion(cfg)
    denoiser = Denoiser(4, hidden=[64], time_dim=8, dropout=0.0)
    opt = torch.optim.Adam(denoiser.parameters(), lr=1e-2)

    def draw(n):
        sign = torch.randint(0, 2, (n, 1)) * 2.0 - 1.0
        return sign * centre + 0.05 * torch.randn(n, 4)

    for _ in range(300):
        loss, _ = diffusion.training_loss(denoiser, draw(256))
        opt.zero_grad()
        loss.mean().backward()
        opt.step()

    denoiser.eval()
    x0 = draw(2000)
    t = torch.full((2000,), 9, dtype=torch.long)
    xt = diffusion.q_sample(x0, t)
    with torch.no_grad():
        learned = (denoiser(xt, t) - x0).pow(2).mean()
    naive = (xt - x0).pow(2).mean()  # predicting x_0 by the noisy input itself
    assert learned < 0.2 * naive
    # the reverse chain from q(x_T | x_0) lands on x_0's cluster
    out = diffusion.sample(denoiser, x0)
    right = ((out - torch.sign(x0[:, :1]) * centre).norm(dim=1)
             < (out + torch.sign(x0[:, :1]) * centre).norm(dim=1)).float().mean()
    assert right > 0.95
    assert (out - x0).pow(2).mean() < 0.3 * naive
