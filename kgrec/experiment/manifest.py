"""What a run records about where it ran, so that it can be reproduced."""

from __future__ import annotations

import hashlib
import platform
import sys
from importlib import metadata
from typing import Any

import numpy as np

from kgrec.data.recdata import RecData


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for dist in ("kgrec", "torch", "dgl", "numpy", "scipy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def split_fingerprint(data: RecData) -> dict[str, Any]:
    """Sizes and a sha256 of each split's pairs: two runs on one split have equal hashes."""
    out: dict[str, Any] = {}
    for name in ("train", "valid", "test"):
        part = getattr(data, name)
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(part.users, dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(part.items, dtype=np.int64).tobytes())
        out[name] = {"interactions": len(part), "sha256": digest.hexdigest()}
    return out
