"""Helpers for testing components, kgrec's own and plugins': tiny data and tiny runs.

A plugin's tests can check its component end to end in seconds::

    from kgrec.testing import tiny_data, tiny_run
    result = tiny_run("myaug", "lightgcn", tmp_path, epochs=2)
    assert result.result.best_epoch >= 1
"""

from __future__ import annotations

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


__all__ = ["backend_params", "tiny_data", "tiny_run"]
