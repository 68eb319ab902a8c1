"""Helpers for testing components, kgrec's own and plugins': tiny data and tiny runs.

A plugin's tests can check its component end to end in seconds::

    from kgrec.testing import tiny_data, tiny_run
    result = tiny_run("myaug", "lightgcn", tmp_path, epochs=2)
    assert result.result.best_epoch >= 1

or hook by hook, with :func:`tiny_setup`, :func:`tiny_model` and :func:`tiny_context`.
This module is public API, like ``kgrec`` itself and ``kgrec.diffusion``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from kgrec import registry
from kgrec.config import deep_merge, resolve_run_config
from kgrec.data.recdata import RecData


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
    """A small synthetic dataset with every side input (KG, social graph, two modalities)."""
    from kgrec.data.synthetic import SyntheticConfig, make_synthetic

    sizes = dict(num_users=80, num_items=60, num_clusters=4, interactions_per_user=8.0,
                 attributes_per_cluster=3, social_ties_per_user=3, image_dim=8, audio_dim=4)
    sizes.update(overrides)
    return make_synthetic(SyntheticConfig(seed=seed, **sizes))


PUBLIC_MODULES = ("kgrec", "kgrec.diffusion", "kgrec.testing")
"""The modules a plugin may import from; of ``kgrec`` itself, only the names in its ``__all__``."""


def private_api_uses(source: str, filename: str = "<source>") -> list[str]:
    """Every place ``source`` reaches into kgrec beyond its public API, one line each.

    Parses with :mod:`ast`, so an import anywhere counts (a function body, a test): an import
    of a module outside :data:`PUBLIC_MODULES`, a name not in its module's ``__all__``, or an
    attribute read such as ``kgrec.registry`` on an imported public module. A plugin's test
    asserts ``private_api_uses(path.read_text(), str(path)) == []`` for each of its files.
    """
    import ast
    import importlib

    problems: list[str] = []
    bound: dict[str, str] = {}  # local name -> public module, from `import kgrec[.x] [as y]`
    tree = ast.parse(source, filename=filename)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "kgrec":
                    continue
                if alias.name not in PUBLIC_MODULES:
                    problems.append(f"{filename}:{node.lineno}: import {alias.name} (private module)")
                elif alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound["kgrec"] = "kgrec"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                node.module.split(".")[0] == "kgrec"):
            if node.module not in PUBLIC_MODULES:
                problems.append(f"{filename}:{node.lineno}: from {node.module} import ... (private module)")
                continue
            public = set(importlib.import_module(node.module).__all__)
            problems += [f"{filename}:{node.lineno}: {node.module}.{a.name} is not public API"
                         for a in node.names if a.name not in public]
    for node in ast.walk(tree):
        # `kgrec.diffusion.X` reads attribute `diffusion` of `kgrec`: a public module, so look
        # at the outermost dotted name that starts with a bound local name.
        if not isinstance(node, ast.Attribute):
            continue
        parts, inner = [node.attr], node.value
        while isinstance(inner, ast.Attribute):
            parts.append(inner.attr)
            inner = inner.value
        if not (isinstance(inner, ast.Name) and inner.id in bound):
            continue
        module, rest = bound[inner.id], list(reversed(parts))
        while rest and f"{module}.{rest[0]}" in PUBLIC_MODULES:
            module = f"{module}.{rest.pop(0)}"
        if rest and rest[0] not in importlib.import_module(module).__all__ + ["__version__"]:
            problems.append(f"{filename}:{node.lineno}: {module}.{rest[0]} is not public API")
    return sorted(set(problems))


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


def tiny_model(name: str = "lightgcn", setup=None, **options: Any):
    """The registered recommender ``name`` built for ``setup`` (default :func:`tiny_setup`);
    ``options`` are its config fields, ``dim`` defaulting to ``setup.embedding_dim``. Seeds
    torch's global RNG with ``setup.seed`` first, as a run does, so tests are repeatable."""
    import torch

    from kgrec.config import build

    setup = setup if setup is not None else tiny_setup()
    cls = registry.load("recommender", name)
    values = dict(options)
    if "dim" in {f.name for f in dataclasses.fields(cls.Config)}:
        values.setdefault("dim", setup.embedding_dim)
    config = build(cls.Config, values, name)
    torch.manual_seed(setup.seed)
    return cls(config, setup)


def tiny_context(model, training: bool = True, epoch: int = 1, seed: int = 0):
    """A :class:`~kgrec.Context` as the trainer hands it to augmenter hooks, around ``model``."""
    import torch

    from kgrec.interfaces import Context

    setup = model.setup_info
    return Context(epoch=epoch, device=setup.device, ops=setup.ops,
                   generator=torch.Generator().manual_seed(seed), training=training,
                   encode=model.encode, base_view=model.view)


def tiny_run(augmenter: str, recommender: str, out_dir: Path, data: RecData | None = None,
             epochs: int = 2, backend: str = "torch", options: dict[str, Any] | None = None,
             seed: int = 0):
    """Run ``augmenter + recommender`` for a few epochs on :func:`tiny_data`; returns the
    :class:`~kgrec.experiment.RunResult`. ``options`` is a raw config mapping laid over the
    defaults, e.g. ``{"diffkg": {"keep_rate": 0.5}}``."""
    from kgrec.experiment import run_experiment

    raw = {"recommender": recommender, "augmenter": augmenter,
           "train": {"epochs": epochs, "backend": backend, "device": "cpu", "seed": seed,
                     "batch_size": 256, "patience": epochs}}
    raw = deep_merge(raw, options or {})
    config = resolve_run_config(raw, registry.load("recommender", recommender),
                                registry.load("augmenter", augmenter))
    return run_experiment(config, data if data is not None else tiny_data(), out_dir,
                          progress=False, log=lambda *_: None)


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


__all__ = ["PUBLIC_MODULES", "backend_params", "cli_output", "private_api_uses", "run_cli",
           "tiny_context", "tiny_data", "tiny_model", "tiny_run", "tiny_setup"]
