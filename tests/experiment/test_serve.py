"""``kgrec serve``: the real server (uvicorn) on a free localhost port, queried over HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

import kgrec
from kgrec.experiment.serve import serve_missing

pytestmark = pytest.mark.skipif(serve_missing() is not None,
                                reason=f"the serve extra is not installed ({serve_missing()})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def server(recbole_run):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kgrec.cli", "serve", str(recbole_run), "--port", str(port),
                             "--k", "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if fetch(f"{base}/health")[0] == 200:
                break
        except (urllib.error.URLError, ConnectionError):
            pass
        if proc.poll() is not None:
            pytest.fail(f"kgrec serve exited: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("kgrec serve did not answer within 120 s")
        time.sleep(0.2)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_get_and_post_answer_top_k_in_raw_ids(server, recbole_run):
    expected = kgrec.load(recbole_run).recommend(["u6", "u20"], k=3).to_dict()
    status, found = fetch(f"{server}/recommend?user=u6&user=u20")
    assert status == 200 and found == expected
    status, found = fetch(f"{server}/recommend", {"users": ["u6"], "k": 2, "exclude": "none"})
    assert status == 200 and found["k"] == 2 and len(found["users"][0]["items"]) == 2
    status, found = fetch(f"{server}/recommend", {"users": ["u6", "stranger"], "unknown": "popular"})
    assert status == 200 and [u["fallback"] for u in found["users"]] == [False, True]
    status, health = fetch(f"{server}/health")
    assert health["status"] == "ok" and health["users"] == 30 and health["k"] == 3


@pytest.mark.parametrize("query, status, words", [
    ("?user=nobody", 404, "unknown user id 'nobody'"),
    ("?user=u6&k=0", 400, "k must be a positive integer"),
    ("?user=u6&k=ten", 400, "k must be a positive integer"),
    ("", 400, "no user given"),
    ("?user=u6&exclude=some", 400, "exclude must be"),
])
def test_bad_requests_get_one_line_errors(server, query, status, words):
    code, found = fetch(f"{server}/recommend{query}")
    assert code == status and words in found["error"] and "\n" not in found["error"]


def test_post_with_a_number_for_a_string_id_is_refused(server):
    code, found = fetch(f"{server}/recommend", {"users": [6]})
    assert code == 400 and "is an integer, but this run's user ids are strings" in found["error"]
