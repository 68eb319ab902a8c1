"""Row diffusion over a sparse 0/1 matrix: dense batches, the training pass, top-k, memory."""

import math

import numpy as np
import pytest
import torch

from kgrec import KgrecError, MemoryWarning
from kgrec.diffusion import DiffusionConfig, RowDiffusion, SparseRows
from kgrec.testing import memory_limit


def toy_rows(num_rows=40, width=12, seed=0) -> SparseRows:
    """Rows drawn from two patterns (columns 0-5 or 6-11), each with one entry dropped."""
    g = torch.Generator().manual_seed(seed)
    pattern = torch.randint(0, 2, (num_rows,), generator=g)
    rows, cols = [], []
    for r in range(num_rows):
        columns = list(range(6 * int(pattern[r]), 6 * int(pattern[r]) + 6))
        columns.pop(int(torch.randint(0, 6, (1,), generator=g)))
        rows += [r] * len(columns)
        cols += columns
    return SparseRows(torch.tensor(rows), torch.tensor(cols), num_rows, width)


def test_dense_rows_match_the_matrix_with_duplicates_and_empty_rows():
    g = torch.Generator().manual_seed(0)
    rows, cols = torch.randint(0, 7, (40,), generator=g), torch.randint(0, 9, (40,), generator=g)
    matrix = SparseRows(rows, cols, num_rows=8, num_columns=9)  # row 7 has no entry
    full = np.zeros((8, 9), dtype=np.float32)
    full[rows.numpy(), cols.numpy()] = 1  # a pair drawn twice is one entry
    batch = torch.tensor([7, 3, 0, 3, 5])
    np.testing.assert_array_equal(matrix.dense(batch).numpy(), full[batch.numpy()])
    assert matrix.dense(torch.tensor([7])).sum() == 0
    with pytest.raises(ValueError):
        SparseRows(rows, cols[:-1], 8, 9)


def make(channels=("rows",), batch_size=8, **settings) -> RowDiffusion:
    torch.manual_seed(0)
    config = DiffusionConfig(hidden=(32,), time_dim=4, batch_size=batch_size, lr=1e-2, **settings)
    return RowDiffusion(config, 12, channels=channels, owner="toy.diffusion")


def test_the_training_pass_steps_once_per_batch_and_its_loss_falls():
    rows = toy_rows()
    diffusion = make(noise_scale=1.0, noise_max=0.1)
    first = diffusion.train_epoch(rows, torch.Generator().manual_seed(0))
    adam = diffusion.optimizer
    steps = {int(state["step"]) for state in adam.state.values()}
    assert steps == {math.ceil(40 / 8)}  # 5 batches of 8 rows, one Adam step each
    for epoch in range(1, 30):
        last = diffusion.train_epoch(rows, torch.Generator().manual_seed(epoch))
    assert set(first) == {"diffusion"} and last["diffusion"] < 0.5 * first["diffusion"]


def test_a_plugin_objective_replaces_the_loss_and_names_what_is_logged():
    rows = toy_rows()
    diffusion = make(channels=("a", "b"))
    seen = []

    def objective(batch, x0, losses, x0_hat):
        seen.append((batch.shape[0], x0.shape, sorted(losses), x0_hat["a"].shape))
        extra = x0_hat["b"].pow(2).mean()
        return losses["a"] + losses["b"] + extra, {"extra": extra, "a": losses["a"]}

    stats = diffusion.train_epoch(rows, torch.Generator().manual_seed(0), objective)
    assert set(stats) == {"extra", "a"} and all(math.isfinite(v) for v in stats.values())
    assert [s[0] for s in seen] == [8] * 5 and seen[0][1:] == ((8, 12), ["a", "b"], (8, 12))
    default = make(channels=("a", "b")).train_epoch(rows, torch.Generator().manual_seed(0))
    assert set(default) == {"diffusion_a", "diffusion_b"}


def test_top_k_denoises_every_row_and_is_deterministic_without_sampling_noise():
    rows = toy_rows()
    diffusion = make(channels=("a", "b"), batch_size=16)
    diffusion.train()
    found = diffusion.top_k(rows, 3)
    assert diffusion.denoisers.training  # mode restored
    again = diffusion.top_k(rows, 3, torch.Generator().manual_seed(9))
    assert set(found) == {"a", "b"} and all(found[c].shape == (40, 3) for c in found)
    assert all(torch.equal(found[c], again[c]) for c in found)
    diffusion.eval()
    whole = diffusion.reverse(rows.dense(torch.arange(40)), "b")  # one block: the same rows
    assert torch.equal(torch.topk(whole, 3, dim=1).indices, found["b"])
    assert diffusion.top_k(rows, 50)["a"].shape == (40, 12)  # k is capped at the width


def test_a_trained_denoiser_puts_back_the_dropped_entry():
    rows = toy_rows(num_rows=64)
    diffusion = make(batch_size=16, noise_scale=1.0, noise_max=0.1)
    for epoch in range(60):
        diffusion.train_epoch(rows, torch.Generator().manual_seed(epoch))
    diffusion.eval()
    x0 = rows.dense(torch.arange(64))
    block = (x0[:, 6:].sum(1) > 0).long()  # which pattern each row follows
    top = diffusion.top_k(rows, 6)["rows"]
    assert ((top // 6) == block[:, None]).float().mean() > 0.9  # its own pattern's columns


def test_reverse_chain_blocks_shrink_to_the_free_memory_with_the_same_rows():
    rows = toy_rows()
    diffusion = make(batch_size=16)
    ample = diffusion.top_k(rows, 2)["rows"]
    one_row = diffusion.denoisers["rows"].row_bytes(training=False)
    with memory_limit(2 * 3 * one_row), pytest.warns(MemoryWarning, match="toy.diffusion.batch_size"):
        tight = diffusion.top_k(rows, 2)["rows"]  # 3 rows per block instead of 16
    assert torch.equal(ample, tight)


def test_training_refuses_a_batch_that_does_not_fit_naming_the_setting():
    diffusion = make(batch_size=16)
    with memory_limit(10_000), pytest.raises(KgrecError, match="lower toy.diffusion.batch_size"):
        diffusion.train_epoch(toy_rows(), torch.Generator().manual_seed(0))


@pytest.mark.parametrize("bad", [dict(steps=0), dict(sampling_steps=9), dict(hidden=()),
                                 dict(time_dim=0), dict(dropout=1.0), dict(lr=0.0),
                                 dict(batch_size=0), dict(noise_min=0.5, noise_max=0.1)])
def test_diffusion_config_refuses_bad_settings(bad):
    with pytest.raises(ValueError):
        DiffusionConfig(**bad)


def test_bfloat16_matmuls_train_and_denoise_like_float32():
    rows = toy_rows(num_rows=64)
    results = {}
    for precision in ("float32", "bfloat16"):
        diffusion = make(batch_size=16, noise_scale=1.0, noise_max=0.1, precision=precision)
        first = diffusion.train_epoch(rows, torch.Generator().manual_seed(0))["diffusion"]
        for epoch in range(1, 60):
            last = diffusion.train_epoch(rows, torch.Generator().manual_seed(epoch))["diffusion"]
        diffusion.eval()
        x0 = rows.dense(torch.arange(64))
        denoised = diffusion.reverse(x0)
        assert denoised.dtype == torch.float32  # the chain's state stays float32
        block = (x0[:, 6:].sum(1) > 0).long()
        top = diffusion.top_k(rows, 6)["rows"]
        results[precision] = (first, last, ((top // 6) == block[:, None]).float().mean())
    for first, last, right in results.values():
        assert last < 0.5 * first and right > 0.9
    with pytest.raises(Exception):
        DiffusionConfig(precision="float16")
