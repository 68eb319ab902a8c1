"""Shared machinery of the reference harness: run an author's repository as it was published.

The harness never carries the reference code. Each script (``diffkg.py``, ``recdiff.py``,
``diffmm.py``) takes the git directory of the authors' repository (a bare mirror or a clone),
and this module

1. copies that repository's HEAD into a scratch folder file by file (``git ls-tree -r HEAD``,
   then ``git cat-file blob SHA`` per file): ``git archive`` aborts on blobs that a partial
   mirror does not hold (the authors' large data files), so those are skipped and listed;
2. applies mechanical patches: literal text replacements, each of which must match exactly
   the expected number of times, or the run stops before it starts (:class:`PatchError`);
3. writes a stand-in ``torch_scatter`` module into the copy when the real one is not
   importable (``scatter_sum`` by ``index_add``, ``scatter_softmax`` by ``scatter_reduce``
   amax, ``exp`` and ``index_add``; :func:`check_scatter_standin` tests it);
4. runs the README's command with a chosen number of CPU threads, streaming its output to
   ``log.txt`` and re-parsing the log into per-epoch rows (``epochs.csv``) as it goes;
5. records the command, commit, patches, data files, machine and peak RSS in ``run.json``.

``python bench/reference/common.py selfcheck`` checks the ``torch_scatter`` stand-in against a
per-group softmax and with ``torch.autograd.gradcheck``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import hashlib
import io
import json
import os
import pickle
import platform
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
SHARED_DATA = PROJECT.parent / "shared" / "data"
RESULTS = HERE / "results"
SCRATCH = Path(os.environ.get("KGREC_REFERENCE_SCRATCH", "/tmp/kgrec-reference"))


class HarnessError(RuntimeError):
    """Something that stops a reference run before or while it starts; the message says what."""


class PatchError(HarnessError):
    """A patch no longer matches the reference code: the code changed, re-read it first."""


# --------------------------------------------------------------------------- the repository

@dataclass
class Checkout:
    """What :func:`copy_head` wrote: the commit, the files copied and the blobs it skipped."""

    git_dir: Path
    dest: Path
    commit: str
    commit_date: str
    copied: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _git(git_dir: Path, *args: str, binary: bool = False, check: bool = True) -> Any:
    proc = subprocess.run(["git", "-C", str(git_dir), *args], capture_output=True,
                          text=not binary, check=False)
    if check and proc.returncode != 0:
        err = proc.stderr if not binary else proc.stderr.decode(errors="replace")
        raise HarnessError(f"git {' '.join(args)} failed in {git_dir}: {err.strip()}")
    return proc


def copy_head(git_dir: str | Path, dest: str | Path,
              skip_parts: Sequence[str] = ("__pycache__",)) -> Checkout:
    """Copy HEAD of ``git_dir`` (bare or not) into a fresh ``dest``, one blob at a time.

    Blobs absent from the stored copy are skipped and listed in ``missing``; paths with a
    component in ``skip_parts`` (DiffMM ships a stale ``Utils/__pycache__``) in ``skipped``.
    """
    git_dir, dest = Path(git_dir), Path(dest)
    if not git_dir.exists():
        raise HarnessError(f"{git_dir} does not exist: pass --repo the git directory of the "
                           "reference repository (see this script's --help)")
    commit = _git(git_dir, "rev-parse", "HEAD").stdout.strip()
    date = _git(git_dir, "show", "-s", "--format=%cI", "HEAD").stdout.strip()
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    out = Checkout(git_dir=git_dir, dest=dest, commit=commit, commit_date=date)
    listing = _git(git_dir, "ls-tree", "-r", "-z", "HEAD").stdout
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind != "blob":  # submodules ("commit") have nothing to copy
            out.skipped.append(path)
            continue
        if any(part in skip_parts for part in Path(path).parts):
            out.skipped.append(path)
            continue
        blob = _git(git_dir, "cat-file", "blob", sha, binary=True, check=False)
        if blob.returncode != 0:
            out.missing.append(path)
            continue
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob.stdout)
        if mode == "100755":
            target.chmod(0o755)
        out.copied.append(path)
    return out


# ------------------------------------------------------------------------------ the patches

@dataclass(frozen=True)
class Patch:
    """Replace ``old`` by ``new`` in ``path``; ``old`` must occur exactly ``count`` times."""

    path: str
    old: str
    new: str
    count: int = 1
    why: str = ""

    def apply(self, root: Path) -> None:
        file = root / self.path
        if not file.is_file():
            raise PatchError(f"patch for {self.path} ({self.why}): the file is not in the copy")
        text = file.read_text()
        found = text.count(self.old)
        if found != self.count:
            raise PatchError(f"patch for {self.path} ({self.why}) no longer applies: expected "
                             f"{self.count} occurrence(s) of {self.old!r}, found {found}; the "
                             "reference code changed: read it and update the patch")
        file.write_text(text.replace(self.old, self.new))

    def record(self) -> dict[str, Any]:
        return {"path": self.path, "old": self.old, "new": self.new, "count": self.count,
                "why": self.why}


def apply_patches(root: Path, patches: Iterable[Patch]) -> list[dict[str, Any]]:
    """Apply every patch (each must match); returns what was applied, for ``run.json``."""
    applied = []
    for patch in patches:
        patch.apply(root)
        applied.append(patch.record())
    return applied


def cpu_patches(counts: dict[str, int], replacement: str = ".cpu()") -> list[Patch]:
    """``.cuda()`` -> ``replacement`` in each file, with the number of calls it must hold."""
    return [Patch(path, ".cuda()", replacement, count,
                  "device selection: the code hard-codes .cuda(); run on the CPU")
            for path, count in counts.items()]


TORCH_SCATTER_STANDIN = '''\
"""Stand-in for torch_scatter's scatter_sum and scatter_softmax, written by kgrec's reference
harness (bench/reference/common.py) because torch_scatter is not importable here (PyPI has no
CPU build of it for this torch). Only dim=0 with a 1-d index, as DiffKG calls them."""
import torch


def _size(index, dim_size):
    return int(index.max()) + 1 if dim_size is None else int(dim_size)


def _check(src, index, dim):
    if dim != 0 or index.dim() != 1 or index.shape[0] != src.shape[0]:
        raise NotImplementedError("stand-in torch_scatter: only dim=0 with a 1-d index")


def scatter_sum(src, index, dim=0, out=None, dim_size=None):
    _check(src, index, dim)
    base = src.new_zeros((_size(index, dim_size),) + tuple(src.shape[1:]))
    result = base.index_add(0, index, src)
    if out is not None:
        out.add_(result)
        return out
    return result


def scatter_softmax(src, index, dim=0, dim_size=None):
    _check(src, index, dim)
    n = _size(index, dim_size)
    expanded = index.view((-1,) + (1,) * (src.dim() - 1)).expand_as(src)
    full = src.new_full((n,) + tuple(src.shape[1:]), float("-inf"))
    group_max = full.scatter_reduce(0, expanded, src.detach(), reduce="amax", include_self=True)
    shifted = (src - group_max.index_select(0, index)).exp()
    sums = src.new_zeros((n,) + tuple(src.shape[1:])).index_add(0, index, shifted)
    return shifted / sums.index_select(0, index)
'''


def torch_scatter_importable(python: str) -> bool:
    proc = subprocess.run([python, "-c", "import torch_scatter"], capture_output=True)
    return proc.returncode == 0


def write_torch_scatter_standin(root: Path) -> Path:
    path = root / "torch_scatter.py"
    path.write_text(TORCH_SCATTER_STANDIN)
    return path


def check_scatter_standin() -> dict[str, float]:
    """Compare the stand-in with a per-group softmax/sum (float64) and run gradcheck."""
    import torch

    namespace: dict[str, Any] = {}
    exec(compile(TORCH_SCATTER_STANDIN, "torch_scatter_standin", "exec"), namespace)
    scatter_sum, scatter_softmax = namespace["scatter_sum"], namespace["scatter_softmax"]
    gen = torch.Generator().manual_seed(0)
    n_groups, n_edges = 50, 400
    index = torch.randint(0, n_groups - 5, (n_edges,), generator=gen)  # some groups empty
    src = torch.randn(n_edges, generator=gen, dtype=torch.float64) * 10
    soft = scatter_softmax(src, index, dim=0, dim_size=n_groups)
    expect = torch.empty_like(src)
    for g in index.unique():
        sel = index == g
        expect[sel] = torch.softmax(src[sel], dim=0)
    vec = torch.randn(n_edges, 8, generator=gen, dtype=torch.float64)
    summed = scatter_sum(vec, index, dim=0, dim_size=n_groups)
    expect_sum = torch.zeros(n_groups, 8, dtype=torch.float64)
    for e in range(n_edges):
        expect_sum[index[e]] += vec[e]
    small_index = torch.tensor([0, 0, 1, 2, 2, 2])
    small = torch.randn(6, dtype=torch.float64, requires_grad=True, generator=gen)
    small_vec = torch.randn(6, 3, dtype=torch.float64, requires_grad=True, generator=gen)
    grad_soft = torch.autograd.gradcheck(lambda x: scatter_softmax(x, small_index, 0, 4), (small,))
    grad_sum = torch.autograd.gradcheck(lambda x: scatter_sum(x, small_index, 0, dim_size=4),
                                        (small_vec,))
    return {"softmax_max_abs_diff": float((soft - expect).abs().max()),
            "sum_max_abs_diff": float((summed - expect_sum).abs().max()),
            "gradcheck_softmax": bool(grad_soft), "gradcheck_sum": bool(grad_sum)}


# ----------------------------------------------------------------------------- the commands

def readme_command(readme: Path, script: str, dataset_flag: str, recipe: str) -> list[str]:
    """The README's ``python <script> <dataset_flag> <recipe> ...`` line, as arguments."""
    pattern = re.compile(rf"^\s*python\s+{re.escape(script)}\s+(.*{re.escape(dataset_flag)}\s+"
                         rf"{re.escape(recipe)}(\s.*)?)$")
    for line in readme.read_text().splitlines():
        match = pattern.match(line)
        if match:
            return shlex.split(match.group(1))
    raise HarnessError(f"{readme.name} has no 'python {script} {dataset_flag} {recipe} ...' line")


def script_command(script: Path) -> list[str]:
    """The arguments after ``python main.py`` in a one-command shell script (``\\`` joined)."""
    text = script.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        words = shlex.split(line)
        if len(words) >= 2 and words[0].startswith("python"):
            return words[2:]
    raise HarnessError(f"{script} holds no 'python <file> ...' line")


def set_flag(args: list[str], flag: str, value: str) -> list[str]:
    """``args`` with ``flag value`` replaced in place, or appended when absent."""
    out = list(args)
    if flag in out:
        i = out.index(flag)
        out[i + 1] = value
    else:
        out += [flag, value]
    return out


# ------------------------------------------------------------------------------- data files

def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe_files(root: Path, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {name: {"bytes": (root / name).stat().st_size, "sha256": sha256(root / name)}
            for name in names}


class _MatrixUnpickler(pickle.Unpickler):
    """Admits only the numpy and scipy.sparse classes a pickled sparse matrix needs."""

    ALLOWED = {("numpy", "dtype"), ("numpy", "ndarray"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar")}

    def find_class(self, module: str, name: str) -> Any:
        sparse = module.startswith("scipy.sparse") and name.endswith(("_matrix", "_array"))
        if (module, name) in self.ALLOWED or sparse:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data pickle")


def load_matrix(path: Path) -> Any:
    """A pickled scipy.sparse matrix, read with :class:`_MatrixUnpickler`, as COO."""
    with open(path, "rb") as handle:
        return _MatrixUnpickler(handle).load().tocoo()


def dump_matrix(path: Path, matrix: Any) -> None:
    with open(path, "wb") as handle:
        pickle.dump(matrix, handle)


# ------------------------------------------------------------------------------ the log

OBSERVE_PREFIX = "kgrec-harness:"
"""Log lines that an optional observation patch adds start with this (they print, nothing else)."""
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?): (.*)$")
_PAIR = re.compile(r"([A-Za-z][A-Za-z0-9 ]*?) = (-?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf))")


def snake(name: str) -> str:
    """``recLoss`` -> ``rec_loss``, ``Di image loss`` -> ``di_image_loss``, ``UKGCLoss`` ->
    ``ukgc_loss``: the reference's metric names as kgrec-style column names."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def log_lines(text: str) -> list[str]:
    """Lines of a captured log; ``\\r`` (a progress line overwritten in place) ends a line too."""
    return [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]


def _stamp(value: str) -> float:
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in value else "%Y-%m-%d %H:%M:%S"
    return _dt.datetime.strptime(value, fmt).timestamp()


def first_matches(text: str, patterns: dict[str, str]) -> dict[str, list[int | float]]:
    """For each named regex, the groups of its first match in ``text`` as numbers (a group
    with a ``.`` is a float); names that do not match are left out."""
    out: dict[str, list[int | float]] = {}
    for key, pattern in patterns.items():
        match = re.search(pattern, text)
        if match:
            out[key] = [float(g) if "." in g else int(g) for g in match.groups()]
    return out


def parse_timelogger(text: str, topk: int, rebuild_start: str, rebuild_end: str,
                     test_names: dict[str, str]) -> list[dict[str, Any]]:
    """Per-epoch rows from a log written by HKUDS's ``Utils/TimeLogger.log`` (DiffKG, DiffMM).

    Each epoch logs ``<rebuild_start>`` after the diffusion phase, ``<rebuild_end>`` after the
    graph rebuild, ``Epoch e/E, Train: ...`` after the BPR(+CL) steps and ``Epoch e/E, Test:
    ...`` after testing; the time stamps between them give the phase times (the diffusion
    phase also holds the epoch's negative sampling). ``epoch`` counts from 1 like kgrec;
    ``ref_epoch`` is the reference's own 0-based number.
    """
    rows: list[dict[str, Any]] = []
    last = rb_start = rb_end = None
    observed: dict[str, Any] = {}
    for line in log_lines(text):
        match = _STAMP.match(line)
        if not match:
            continue
        when, msg = _stamp(match.group(1)), match.group(2)
        if msg.startswith(OBSERVE_PREFIX):  # lines an observation patch adds: name=value ...
            observed.update({k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", msg)})
        elif msg.startswith("Model Initialized"):
            last = when
        elif msg.startswith(rebuild_start):
            rb_start = when
        elif msg.startswith(rebuild_end):
            rb_end = when
        elif (train := re.match(r"Epoch (\d+)/(\d+), Train: (.*)$", msg)):
            ep = int(train.group(1))
            row: dict[str, Any] = {"epoch": ep + 1, "ref_epoch": ep}
            if last is not None and rb_start is not None and rb_end is not None:
                row["diffusion_seconds"] = round(rb_start - last, 3)
                row["rebuild_seconds"] = round(rb_end - rb_start, 3)
                row["bpr_seconds"] = round(when - rb_end, 3)
                row["train_seconds"] = round(when - last, 3)
            for name, value in _PAIR.findall(train.group(3)):
                row[snake(name)] = float(value)
            row.update(observed)
            if last is not None:
                row["wall_seconds"] = round(when - last, 3)
            rows.append(row)
            last, rb_start, rb_end, observed = when, None, None, {}
        elif (test := re.match(r"Epoch (\d+)/(\d+), Test: (.*)$", msg)):
            ep = int(test.group(1))
            if not rows or rows[-1]["ref_epoch"] != ep:
                continue
            row = rows[-1]
            if last is not None:
                row["eval_seconds"] = round(when - last, 3)
                row["wall_seconds"] = round(row.get("wall_seconds", 0.0) + when - last, 3)
            for name, value in _PAIR.findall(test.group(3)):
                row[f"test_{test_names.get(name, snake(name))}@{topk}"] = float(value)
            last = when
    return rows


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """One row per epoch; columns in first-seen order (as kgrec's history.csv)."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(out.getvalue())
    tmp.replace(path)


def summarise(rows: list[dict[str, Any]], select: Callable[[dict[str, Any]], float],
              selected_by: str) -> dict[str, Any]:
    """Best epoch selected on TEST (as the reference code does, labelled so), last epoch,
    mean seconds per epoch."""
    tested = [r for r in rows if any(k.startswith("test_") for k in r)]
    out: dict[str, Any] = {"epochs_logged": len(rows)}
    if tested:
        best = max(tested, key=select)  # first of equal maxima, like the references' '>'
        out["best_selected_on_test"] = {"selected_by": selected_by,
                                        **{k: v for k, v in best.items() if k.startswith(("epoch", "ref_epoch", "test_"))}}
        out["last_tested"] = {k: v for k, v in tested[-1].items()
                              if k.startswith(("epoch", "ref_epoch", "test_"))}
    for key in ("wall_seconds", "train_seconds", "diffusion_seconds", "rebuild_seconds",
                "bpr_seconds", "eval_seconds"):
        values = [r[key] for r in rows if isinstance(r.get(key), float)]
        if values:
            out[f"mean_{key}"] = round(sum(values) / len(values), 3)
    return out


# ----------------------------------------------------------------------------- the machine

def machine_info(python: str, packages: Sequence[str]) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_total = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_total = int(line.split()[1]) * 1024
    except OSError:
        pass
    code = ("import importlib.metadata as m, json, sys\nout = {'python': sys.version.split()[0]}\n"
            f"for p in {list(packages)!r}:\n"
            "    try: out[p] = m.version(p)\n    except Exception: out[p] = None\n"
            "print(json.dumps(out))")
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True)
    versions = json.loads(proc.stdout) if proc.returncode == 0 else {"error": proc.stderr[-500:]}
    return {"host": platform.node(), "platform": platform.platform(), "cpu": cpu,
            "cpu_count": os.cpu_count(), "mem_total_bytes": mem_total, "versions": versions}


def _vm_hwm(pid: int) -> int | None:
    """Peak resident set of a live process, from /proc (bytes)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def thread_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
        env[name] = str(threads)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("DGLBACKEND", "pytorch")
    return env


# ------------------------------------------------------------------------------- the run

@dataclass
class Reference:
    """What one script knows about its repository."""

    name: str                        # "diffkg"
    repo: str                        # "HKUDS/DiffKG"
    commit: str                      # the commit reference-runs.md measured
    packages: Sequence[str]          # versions recorded in run.json
    parse: Callable[[str, list[str]], list[dict[str, Any]]]
    select: Callable[[dict[str, Any]], float]
    selected_by: str
    reported: Callable[[str], dict[str, Any]] | None = None  # what the code prints about its data


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    tmp.replace(path)


def reparse(ref: Reference, out: Path) -> dict[str, Any]:
    """Rewrite ``epochs.csv`` and the summary in ``run.json`` from ``log.txt`` (also while the
    run is still going, or after it was killed)."""
    record = json.loads((out / "run.json").read_text())
    text = (out / "log.txt").read_text(errors="replace")
    rows = ref.parse(text, record["args"])
    write_csv(rows, out / "epochs.csv")
    record["summary"] = summarise(rows, ref.select, ref.selected_by)
    if ref.reported is not None:
        record["reference_reported"] = ref.reported(text)
    write_json(out / "run.json", record)
    return record


def run_reference(ref: Reference, workdir: Path, script: str, args: list[str], out: Path,
                  threads: int, python: str, record: dict[str, Any],
                  parse_every: float = 20.0) -> dict[str, Any]:
    """Run ``python -u <script> <args>`` in ``workdir``; stream its output (stderr merged) to
    ``out/log.txt``; keep ``epochs.csv`` and ``run.json`` current; return the final record."""
    out.mkdir(parents=True, exist_ok=True)
    command = [python, "-u", script, *args]
    record.update({"command": shlex.join(["python", script, *args]), "argv": command,
                   "args": args, "cwd": str(workdir), "threads": threads,
                   "started": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                   "status": "running", "harness_pid": os.getpid()})
    log_path = out / "log.txt"
    start = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=workdir, env=thread_env(threads),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        record["pid"] = proc.pid
        write_json(out / "run.json", record)

        def stop(signum: int, _frame: Any) -> None:
            os.killpg(proc.pid, signal.SIGTERM)
            record["status"] = f"stopped by signal {signum}"

        # not SIGHUP: under nohup the run must outlive the shell that started it
        old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
        peak, last_parse = 0, time.monotonic()
        assert proc.stdout is not None
        try:
            while True:
                chunk = proc.stdout.read1(65536) if hasattr(proc.stdout, "read1") else proc.stdout.read(4096)
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                peak = max(peak, _vm_hwm(proc.pid) or 0)
                if time.monotonic() - last_parse > parse_every:
                    last_parse = time.monotonic()
                    record["peak_rss_bytes_so_far"] = peak
                    write_json(out / "run.json", record)
                    reparse(ref, out)
                    record = json.loads((out / "run.json").read_text())
            rc = proc.wait()
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    record.pop("peak_rss_bytes_so_far", None)
    record.update({"returncode": rc, "wall_seconds_total": round(time.monotonic() - start, 1),
                   "finished": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                   "peak_rss_bytes": max(peak, usage.ru_maxrss * 1024),
                   "peak_rss_source": "max of /proc/<pid>/status VmHWM while running and "
                                      "getrusage(RUSAGE_CHILDREN).ru_maxrss",
                   "cpu_seconds_children": round(usage.ru_utime + usage.ru_stime, 1)})
    if record["status"] == "running":
        record["status"] = "finished" if rc == 0 else f"failed (exit {rc})"
    write_json(out / "run.json", record)
    return reparse(ref, out)


# ------------------------------------------------------------------------------ the CLI

def base_parser(ref: Reference, doc: str, default_recipe: str, default_dataset: str | None,
                recipes: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, required=False,
                        help=f"git directory of github.com/{ref.repo} (a bare mirror or a clone); "
                             f"reference-runs.md measured commit {ref.commit}")
    parser.add_argument("--dataset", default=default_dataset,
                        help="the kgrec dataset to convert into the repository's input files "
                             f"(default: {default_dataset or 'the repository own data'})")
    parser.add_argument("--recipe", default=default_recipe, choices=list(recipes),
                        help="which README command to run (default %(default)s)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs to train (default: the README command's or the code's)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (OMP/MKL/OpenBLAS) for the run (default 1)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cpu: patch .cuda() calls to the CPU (default); cuda: leave them")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default bench/reference/results/<repo>-<dataset>)")
    parser.add_argument("--scratch", type=Path, default=None,
                        help=f"scratch folder for the patched copy (default {SCRATCH}/<name>); "
                             "recreated at every run")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter that runs the reference (default: this one)")
    parser.add_argument("--prepare-only", action="store_true",
                        help="copy, patch and convert the data, print the command, do not run")
    parser.add_argument("--parse-only", action="store_true",
                        help="re-parse --out's log.txt into epochs.csv and run.json, run nothing")
    parser.add_argument("extra", nargs=argparse.REMAINDER,
                        help="after '--': more arguments for the reference's main script "
                             "(they come last, so they override the README's)")
    return parser


def extra_args(extra: list[str]) -> list[str]:
    return extra[1:] if extra[:1] == ["--"] else extra


Prepare = Callable[[argparse.Namespace, Checkout], "tuple[str, list[str], dict[str, Any]]"]


def execute(ref: Reference, ns: argparse.Namespace, prepare: Prepare, out_name: str) -> int:
    """The flow every script shares: copy, let ``prepare`` patch and write the data (it returns
    the main script, its arguments and what to record), run, parse, print the summary."""
    out = ns.out or RESULTS / out_name
    if ns.parse_only:
        record = reparse(ref, out)
        print(json.dumps(record["summary"], indent=2))
        return 0
    if ns.repo is None:
        raise SystemExit(f"--repo is required: the git directory of github.com/{ref.repo} "
                         f"(commit {ref.commit} in reference-runs.md)")
    scratch = ns.scratch or SCRATCH / ref.name
    checkout = copy_head(ns.repo, scratch)
    record: dict[str, Any] = {
        "reference": ref.repo, "commit": checkout.commit, "commit_date": checkout.commit_date,
        "commit_in_reference_runs_md": ref.commit,
        "commit_matches_reference_runs_md": checkout.commit.startswith(ref.commit),
        "repo_path": str(ns.repo), "missing_blobs_skipped": checkout.missing,
        "paths_not_copied": checkout.skipped, "device": ns.device}
    if not record["commit_matches_reference_runs_md"]:
        print(f"note: HEAD is {checkout.commit[:12]}, reference-runs.md measured {ref.commit}",
              file=sys.stderr)
    script, args, info = prepare(ns, checkout)
    record.update(info)
    record["machine"] = machine_info(ns.python, ref.packages)
    print(f"[{ref.name}] in {scratch}: python {shlex.join([script, *args])}", flush=True)
    if ns.prepare_only:
        return 0
    final = run_reference(ref, scratch, script, args, out, ns.threads, ns.python, record)
    print(json.dumps({k: final.get(k) for k in ("status", "peak_rss_bytes", "summary")},
                     indent=2))
    return 0 if final.get("returncode") == 0 else 1


def main_selfcheck() -> None:
    result = check_scatter_standin()
    print(json.dumps(result, indent=2))
    ok = (result["softmax_max_abs_diff"] < 1e-12 and result["sum_max_abs_diff"] < 1e-12
          and result["gradcheck_softmax"] and result["gradcheck_sum"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if sys.argv[1:] == ["selfcheck"]:
        main_selfcheck()
    print(__doc__)
    print("usage: python bench/reference/common.py selfcheck")
    sys.exit(2)
