"""What a run records about where it ran, so that it can be reproduced."""

from __future__ import annotations

import hashlib
import platform
import sys
from importlib import metadata
from typing import Any

import numpy as np

from kgrec import registry
from kgrec.config import RunConfig
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


def plugin_distributions(config: RunConfig) -> dict[str, Any]:
    """The class and distribution (name, version) behind each of the run's two components,
    and every installed distribution that registers kgrec components: what a reproduction
    must install. A component not registered through an entry point (a test's stand-in) has
    no distribution."""
    out: dict[str, Any] = {}
    for kind, name in (("recommender", config.recommender), ("augmenter", config.augmenter)):
        cls = registry.load(kind, name)  # type: ignore[arg-type]
        entry = {"name": name, "class": f"{cls.__module__}:{cls.__qualname__}",
                 "distribution": None, "version": None}
        if name in registry.available(kind):  # type: ignore[arg-type]
            info = registry.info(kind, name)  # type: ignore[arg-type]
            entry.update(distribution=info.distribution, version=info.version)
        out[kind] = entry
    out["installed"] = registry.distributions()
    return out
