"""Shared fixtures: where the real data lives, and which backends can run here."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def backend_params() -> list:
    """(backend, device) pairs; DGL and CUDA cases skip with the probe's reason."""
    from kgrec.graph.ops import dgl_unavailable_reason

    params = []
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        params.append(pytest.param("torch", device, id=f"torch-{device.type}"))
        reason = dgl_unavailable_reason(device)
        params.append(pytest.param("dgl", device, id=f"dgl-{device.type}",
                                   marks=pytest.mark.skipif(reason is not None, reason=str(reason))))
    return params


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not present at {SHARED_DATA}")
    return SHARED_DATA
