"""Measurements behind docs/benchmarks.md, "After training" (issue 17): the memory bound of
``kgrec export`` and the throughput of ``kgrec serve``.

    # a finished run to measure on (one thread: the figures in the docs)
    OMP_NUM_THREADS=1 kgrec run -r lightgcn --epochs 1 --out runs/big100k \\
        -d "synthetic?num_users=100000&num_items=20000&num_clusters=64&interactions_per_user=10"

    OMP_NUM_THREADS=1 python bench/after_training.py export runs/big100k --out /tmp/top.csv --batch-size 1024
    python bench/after_training.py serve runs/big100k --clients 1 --seconds 20

``export`` runs in this process: it loads the run (RSS after loading), then exports while a
thread samples the resident set size every 5 ms, and prints one JSON line: RSS after load,
peak RSS during the export, the difference, rows and seconds. ``serve`` starts ``kgrec serve``
on a free localhost port in a subprocess and sends ``GET /recommend?user=ID&k=10`` requests
for random known users from ``clients`` threads (one keep-alive connection each) for
``seconds`` seconds (or POSTs of ``--users-per-request`` users), then prints requests and
users per second and latency percentiles. Everything stays
on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def export_memory(args: argparse.Namespace) -> dict:
    import kgrec
    from kgrec.experiment.export import export

    start = time.perf_counter()
    trained = kgrec.load(args.run_dir, source=args.source)
    trained._embeddings()  # computed once, part of the loaded run
    loaded_seconds = time.perf_counter() - start
    after_load = rss_bytes()
    peak = [after_load]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = export(trained, args.out, k=args.k, batch_size=args.batch_size,
                    embeddings=args.embeddings, progress=False)
    done.set()
    sampler.join()
    mib = 1024 * 1024
    return {"source": trained.source, "users": trained.data.num_users, "items": trained.data.num_items, "k": args.k,
            "batch_size": trained.batch_size(args.batch_size), "format": Path(args.out).suffix,
            "load_seconds": round(loaded_seconds, 1), "rss_after_load_mib": round(after_load / mib),
            "peak_rss_export_mib": round(peak[0] / mib),
            "export_increase_mib": round((peak[0] - after_load) / mib),
            "rows": result.rows, "export_seconds": round(result.seconds, 1),
            "file_mib": round(Path(args.out).stat().st_size / mib, 1)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_throughput(args: argparse.Namespace) -> dict:
    from kgrec.experiment.ids import load_ids

    users = load_ids(Path(args.run_dir)).users.ids
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kgrec.cli", "serve", str(args.run_dir),
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"kgrec serve did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
        latencies: list[list[float]] = [[] for _ in range(args.clients)]
        stop = time.monotonic() + args.seconds

        def client(n: int) -> None:
            rng = np.random.default_rng(n)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while time.monotonic() < stop:
                began = time.perf_counter()
                if args.users_per_request == 1:
                    user = users[rng.integers(len(users))]
                    conn.request("GET", f"/recommend?user={user}&k={args.k}")
                else:
                    batch = users[rng.integers(len(users), size=args.users_per_request)].tolist()
                    conn.request("POST", "/recommend", json.dumps({"users": batch, "k": args.k}),
                                 {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                assert response.status == 200, response.status
                latencies[n].append(time.perf_counter() - began)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    every = np.array([x for per in latencies for x in per]) * 1000
    return {"clients": args.clients, "k": args.k, "users_per_request": args.users_per_request,
            "requests": int(every.size), "requests_per_second": round(every.size / elapsed, 1),
            "users_per_second": round(every.size * args.users_per_request / elapsed),
            "latency_ms_p50": round(float(np.percentile(every, 50)), 2),
            "latency_ms_p99": round(float(np.percentile(every, 99)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    exp = sub.add_parser("export", help="peak memory of kgrec export")
    exp.add_argument("run_dir")
    exp.add_argument("--out", required=True)
    exp.add_argument("--k", type=int, default=10)
    exp.add_argument("--batch-size", type=int, default=None)
    exp.add_argument("--embeddings", action="store_true")
    exp.add_argument("--source", choices=["auto", "dataset", "run"], default="auto",
                     help="what kgrec.load builds from (run: the run directory alone)")
    srv = sub.add_parser("serve", help="requests per second of kgrec serve")
    srv.add_argument("run_dir")
    srv.add_argument("--clients", type=int, default=1)
    srv.add_argument("--seconds", type=float, default=20.0)
    srv.add_argument("--k", type=int, default=10)
    srv.add_argument("--users-per-request", type=int, default=1,
                     help="1: GET one user; more: POST that many random users per request")
    args = parser.parse_args()
    print(json.dumps(export_memory(args) if args.what == "export" else serve_throughput(args)))


if __name__ == "__main__":
    main()
