"""Helpers for testing components, kgrec's own and plugins': tiny data, tiny runs, contracts.

A plugin's suite gets the contract tests every component must pass by subclassing::

    from kgrec.testing import AugmenterContract

    class TestMyAugmenter(AugmenterContract):
        name = "myaug"

and checks its own hooks in seconds with :func:`tiny_setup`, :func:`tiny_model`,
:func:`tiny_augmenter`, :func:`tiny_context` and :func:`forward`, or end to end with
:func:`tiny_run`. This module is public API, like ``kgrec`` itself and ``kgrec.diffusion``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

from kgrec.data.recdata import RecData
from kgrec.testing.contracts import AugmenterContract, RecommenderContract
from kgrec.testing.public_api import PUBLIC_MODULES, private_api_uses, public_api_problems
from kgrec.train.trainer import forward


def backend_params() -> list:
    """pytest params ``(backend, device)`` for every kernel backend and device here; the DGL
    and CUDA cases skip with the backend probe's reason, so one test covers both backends."""
    import pytest
    import torch

    from kgrec.graph.ops import dgl_unavailable_reason

    params = []
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        params.append(pytest.param("torch", device, id=f"torch-{device.type}"))
        reason = dgl_unavailable_reason(device)
        params.append(pytest.param("dgl", device, id=f"dgl-{device.type}",
                                   marks=pytest.mark.skipif(reason is not None, reason=str(reason))))
    return params


def tiny_data(seed: int = 0, **overrides: Any) -> RecData:
    """A small synthetic dataset with every side input (KG, social graph, two modalities);
    ``overrides`` are :class:`~kgrec.data.synthetic.SyntheticConfig` fields."""
    from kgrec.data.synthetic import make_tiny

    return make_tiny(seed, **overrides)


def tiny_setup(data: RecData | None = None, dim: int = 16, backend: str = "torch", seed: int = 0):
    """The :class:`~kgrec.Setup` a run would build for ``data`` (default :func:`tiny_data`) on
    CPU, for testing a component's hooks one by one without a training loop."""
    import torch

    from kgrec.graph.ops import select_ops
    from kgrec.interfaces import Setup

    data = data if data is not None else tiny_data(seed)
    device = torch.device("cpu")
    return Setup(data=data, ops=select_ops(backend, device).ops, device=device, seed=seed,
                 train_users=torch.as_tensor(data.train.users), train_items=torch.as_tensor(data.train.items),
                 embedding_dim=dim)


def component_config(kind: str, name: str, **options: Any) -> Any:
    """The validated ``Config`` of the registered ``kind`` (``recommender`` / ``augmenter``)
    ``name`` from ``options`` (nested sections as dicts: ``diffusion={"steps": 3}``); a bad
    option raises :class:`~kgrec.ConfigError` as a run would."""
    from kgrec import registry
    from kgrec.config import build

    return build(registry.load(kind, name).Config, options, name)  # type: ignore[arg-type]


def tiny_model(name: str = "lightgcn", setup=None, **options: Any):
    """The registered recommender ``name`` built for ``setup`` (default :func:`tiny_setup`);
    ``options`` are its config fields, ``dim`` defaulting to ``setup.embedding_dim``. Seeds
    torch's global RNG with ``setup.seed`` first, as a run does, so tests are repeatable."""
    import dataclasses

    import torch

    from kgrec import registry

    setup = setup if setup is not None else tiny_setup()
    cls = registry.load("recommender", name)
    if "dim" in {f.name for f in dataclasses.fields(cls.Config)}:
        options.setdefault("dim", setup.embedding_dim)
    config = component_config("recommender", name, **options)
    torch.manual_seed(setup.seed)
    return cls(config, setup)


def tiny_augmenter(name: str, model, **options: Any):
    """The registered augmenter ``name`` built on ``model``'s setup and bound to it, as a run
    does; ``options`` are its config fields."""
    from kgrec import registry

    augmenter = registry.load("augmenter", name)(component_config("augmenter", name, **options),
                                                 model.setup_info)
    augmenter.bind(model)
    return augmenter


def tiny_context(model, training: bool = True, epoch: int = 1, seed: int = 0, batch=None):
    """A fresh :class:`~kgrec.Context` as the trainer hands it to augmenter hooks, around
    ``model``: ``base`` is ``model.view()``; ``batch`` is None unless given."""
    import torch

    from kgrec.interfaces import Context

    setup = model.setup_info
    return Context(epoch=epoch, training=training, device=setup.device, ops=setup.ops,
                   generator=torch.Generator().manual_seed(seed), encode=model.encode,
                   base=model.view(), batch=batch)


def tiny_run(augmenter: str, recommender: str, out_dir: Path, data: RecData | None = None,
             epochs: int = 2, backend: str = "torch", options: dict[str, Any] | None = None,
             seed: int = 0):
    """Run ``augmenter + recommender`` for a few epochs on :func:`tiny_data` (or ``data``)
    with :func:`kgrec.run`; returns its :class:`~kgrec.RunResult`. ``options`` is a raw
    config mapping laid over the defaults, e.g. ``{"diffkg": {"keep_rate": 0.5}}``. On the
    tiny data the run records its dataset as a ``synthetic?...`` spec, so :func:`kgrec.load`
    and :func:`kgrec.resume` need no ``data``."""
    from kgrec.config import deep_merge
    from kgrec.experiment import run

    from kgrec.data.synthetic import tiny_spec

    raw = {"recommender": recommender, "augmenter": augmenter, "dataset": tiny_spec(),
           "train": {"epochs": epochs, "backend": backend, "device": "cpu", "seed": seed,
                     "batch_size": 256, "patience": epochs}}
    raw = deep_merge(raw, options or {})
    return run(raw, data=data, out=out_dir, progress=False, log=None)


@contextlib.contextmanager
def memory_limit(available: int) -> Iterator[None]:
    """Within the block, kgrec's memory guard sees only ``available`` free bytes (on every
    device), so a test can check that a component shrinks or refuses a block that would not
    fit (:func:`kgrec.fit_batch_size`)."""
    from kgrec import memory

    real = memory.available_bytes
    memory.available_bytes = lambda device="cpu": available
    try:
        yield
    finally:
        memory.available_bytes = real


def run_cli(*argv: str) -> int:
    """Run ``kgrec ARGV`` in this process and return its exit code (0, or the code the command
    exited with: 2 for bad input), as a shell would see it."""
    from kgrec.cli.main import main

    try:
        main(list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def cli_output(capsys, *argv: str) -> tuple[int, str, str]:
    """:func:`run_cli` with what the command printed, read from pytest's ``capsys`` fixture:
    ``(exit code, stdout, stderr)``."""
    code = run_cli(*argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


__all__ = ["AugmenterContract", "PUBLIC_MODULES", "RecommenderContract", "backend_params",
           "cli_output", "component_config", "forward", "memory_limit", "private_api_uses",
           "public_api_problems", "run_cli", "tiny_augmenter", "tiny_context", "tiny_data",
           "tiny_model", "tiny_run", "tiny_setup"]
