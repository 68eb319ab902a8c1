"""CPU seconds per training epoch of each arm on Last.FM, single-threaded.

Wall-clock epoch times on a shared machine mostly measure the other tenants; process CPU time
does not. Each arm runs 1 and 6 epochs (evaluating only after the last one), and the
difference over 5 is one epoch's training. Run from the repository root:

    OMP_NUM_THREADS=1 python plugins/adagcl/bench/epoch_cpu.py none adagcl
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile

COMMON = ["-r", "lightgcn", "-d", "../shared/data/lastfm-hetrec", "--backend", "torch", "--device", "cpu",
          "--set", "lightgcn.dim=32", "--set", "lightgcn.reg=1e-5", "--set", "train.batch_size=4096",
          "--set", "train.eval_every=100"]


def cpu_seconds(args: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-m", "kgrec.cli", "run", *args, "--out", f"{tmp}/run", "--quiet"],
                       check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


if __name__ == "__main__":
    for arm in sys.argv[1:] or ["none", "adagcl"]:
        one = cpu_seconds(["-a", arm, *COMMON, "--epochs", "1"])
        six = cpu_seconds(["-a", arm, *COMMON, "--epochs", "6"])
        print(f"{arm}: {(six - one) / 5:.2f} CPU seconds per training epoch")
