"""Size dense blocks to the memory that is free, instead of being killed by the OOM killer.

Full-ranking evaluation scores a ``(batch, num_items)`` block, and a diffusion model denoises
``(batch, num_items)`` (or ``(batch, num_entities)``) rows. On a large catalogue a batch that
fits a workstation kills the process on a laptop, with no message, often hours into a run.
:func:`fit_batch_size` estimates the block before it is allocated and either picks a batch
that fits or raises a :class:`~kgrec.errors.KgrecError` that names the setting to lower.

Public API (``kgrec.fit_batch_size``); :class:`kgrec.diffusion.RowDiffusion` already sizes
its blocks with it. For a plugin's own dense loops::

    from kgrec import fit_batch_size
    rows_per_step = fit_batch_size(num_users, row_bytes=4 * num_items * 6, requested=cfg.batch,
                                   device=device, setting="myaug.batch_size", shrink=False)

``row_bytes`` is what one row costs at the peak (inputs, activations and gradients of every
dense ``(rows, width)`` tensor alive at once, float32 = 4 bytes per entry). Pass
``shrink=False`` where the batch size changes the result (training: the optimiser steps per
epoch), so a batch that does not fit is refused with advice; leave ``shrink=True`` where it
does not (evaluation, sampling without gradients), so kgrec quietly uses smaller batches.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from kgrec.errors import KgrecError

class MemoryWarning(UserWarning):
    """A dense block was split into smaller batches to fit the available memory."""


BUDGET_FRACTION = 0.5
"""Share of the currently available memory one dense block may take (the rest is headroom
for the model, the optimiser state, the allocator's fragmentation and other processes)."""


def _meminfo_available() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def _cgroup_available() -> int | None:
    """Room left under a container's memory limit (cgroup v2, then v1), where there is one."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or not limit.isdigit() or int(limit) >= 1 << 60:
            return None
        return max(int(limit) - usage, 0)
    return None


def available_bytes(device: torch.device | str = "cpu") -> int | None:
    """Memory a new allocation on ``device`` can use now, or None when it cannot be told.

    CUDA: ``torch.cuda.mem_get_info`` plus what torch's caching allocator holds but does not
    use. CPU: ``MemAvailable`` from ``/proc/meminfo``, capped by a container (cgroup) limit.
    """
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free + max(cached, 0))
    if device.type != "cpu":
        return None
    found = [v for v in (_meminfo_available(), _cgroup_available()) if v is not None]
    if not found and hasattr(os, "sysconf"):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            pass
    return min(found) if found else None


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def fit_batch_size(rows: int, row_bytes: int, requested: int, budget_bytes: int | None = None, *,
                   device: torch.device | str = "cpu", setting: str = "the batch size",
                   shrink: bool = True) -> int:
    """The number of rows per dense block: ``min(requested, rows)`` if it fits, else less.

    ``budget_bytes`` defaults to :data:`BUDGET_FRACTION` of :func:`available_bytes`; when the
    free memory cannot be told, the request is trusted. With ``shrink`` a batch that does not
    fit is reduced (with a warning naming ``setting``); without it, or when not even one row
    fits, a :class:`KgrecError` says how much was needed and which setting to lower.
    """
    if rows < 0 or row_bytes < 0 or requested < 1:
        raise ValueError("rows and row_bytes must be >= 0 and requested >= 1")
    want = max(min(requested, rows), 1)
    if budget_bytes is None:
        free = available_bytes(device)
        if free is None:
            return want
        budget_bytes = int(free * BUDGET_FRACTION)
    if want * row_bytes <= budget_bytes:
        return want
    fits = budget_bytes // max(row_bytes, 1)
    need = f"{want} rows x {_human(row_bytes)} = {_human(want * row_bytes)}"
    if fits < 1:
        raise KgrecError(f"not enough memory on {torch.device(device)}: even one row of a dense "
                         f"block needs {_human(row_bytes)}, {_human(budget_bytes)} is available to "
                         f"it; lower {setting}, use a smaller dataset or free memory")
    if not shrink:
        raise KgrecError(f"not enough memory on {torch.device(device)} for a batch of {need} "
                         f"({_human(budget_bytes)} available); lower {setting} to {int(fits)} "
                         "or less")
    warnings.warn(f"{need} would not fit in {_human(budget_bytes)} on {torch.device(device)}; "
                  f"using batches of {int(fits)} (lower {setting} to silence this)", MemoryWarning,
                  stacklevel=2)
    return int(fits)


def require_memory(need_bytes: int, *, device: torch.device | str = "cpu", what: str,
                   advice: str) -> None:
    """Refuse, in one line, a dense block of ``need_bytes`` that cannot be split into batches
    (EASE's item x item solve) when it exceeds :data:`BUDGET_FRACTION` of the free memory on
    ``device``, with the same accounting as :func:`fit_batch_size`; nothing when the free
    memory cannot be told."""
    free = available_bytes(device)
    if free is None:
        return
    budget = int(free * BUDGET_FRACTION)
    if need_bytes > budget:
        raise KgrecError(f"{what} needs {_human(need_bytes)}, more than the {_human(budget)} "
                         f"available to it on {torch.device(device)} (half the free memory); {advice}")
