"""Checkpoints written atomically and read without executing code.

A run directory keeps two kinds: ``best.pt`` (the validation-selected model and augmenter,
restored for the test evaluation) and ``checkpoints/epoch-NNNN.pt`` (everything needed to
continue after epoch ``NNNN``: model, augmenter, optimiser, scheduler, every RNG state, the
history rows and the early-stopping bookkeeping). Only the newest epoch checkpoint is kept.
Every file is written to a temporary name, fsynced and renamed, so a crash leaves either the
old file or the new one, never a torn one; a leftover temporary file is ignored.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np
import torch

from kgrec.errors import KgrecError

CHECKPOINT_DIR = "checkpoints"
_EPOCH_FILE = re.compile(r"^epoch-(\d+)\.pt$")


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename: never a torn file."""
    _atomic_write(path, lambda handle: handle.write(payload))


def _atomic_write(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Streamed into the temporary file, never copied in memory: an epoch checkpoint can hold
    a denoiser's Adam state (about 1 GB for DiffKG at 80k entities)."""
    _atomic_write(path, lambda handle: torch.save(state, handle))


def load_checkpoint(path: Path, device: torch.device) -> dict[str, Any]:
    """Load with ``weights_only=True``: tensors and plain containers only, no pickled code."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise KgrecError(f"{path}: checkpoint not found") from None
    except Exception as exc:  # torch raises assorted types for a corrupt or hostile file
        message = " ".join(str(exc).split())[:300]
        raise KgrecError(f"{path}: not a loadable kgrec checkpoint ({type(exc).__name__}: "
                         f"{message})") from None


# ---------------------------------------------------------------------------- RNG states


def rng_state(generator: torch.Generator | None = None) -> dict[str, Any]:
    """Every RNG a run draws from, as tensors and plain values (loadable with weights_only)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def set_rng_state(state: dict[str, Any], generator: torch.Generator | None = None) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"].cpu())
    np_state = state["numpy"]
    np.random.set_state((np_state["kind"], np_state["keys"].cpu().numpy().astype(np.uint32),
                         np_state["pos"], np_state["has_gauss"], np_state["gauss"]))
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        cuda = [s.cpu() for s in state["cuda"]]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"].cpu())


# ---------------------------------------------------------------------------- epoch checkpoints


def epoch_checkpoint_path(run_dir: Path, epoch: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"epoch-{epoch:04d}.pt"


def latest_epoch_checkpoint(run_dir: Path) -> tuple[int, Path] | None:
    """``(epoch, path)`` of the newest complete epoch checkpoint in ``run_dir``, or None."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return None
    found = [(int(m.group(1)), folder / m.group(0))
             for m in (_EPOCH_FILE.match(p.name) for p in folder.iterdir()) if m]
    return max(found) if found else None


def save_epoch_checkpoint(run_dir: Path, epoch: int, state: dict[str, Any]) -> Path:
    """Write the checkpoint of ``epoch`` atomically, then drop older ones (and stale temps)."""
    path = epoch_checkpoint_path(run_dir, epoch)
    save_checkpoint(path, state)
    for old in path.parent.iterdir():
        match = _EPOCH_FILE.match(old.name)
        stale_temp = old.name.startswith(".epoch-") and ".tmp-" in old.name
        if (match and int(match.group(1)) < epoch) or stale_temp:
            old.unlink(missing_ok=True)
    return path
