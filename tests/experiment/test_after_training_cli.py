"""``kgrec recommend``, ``kgrec export`` and ``kgrec compare``: what they print and write, and
bad input as one line with exit code 2."""

from __future__ import annotations

import csv
import json
import shutil
import sys

import numpy as np
import pytest

import kgrec
from kgrec.testing import cli_output


def one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and err.strip().count("\n") == 0, err
    for word in words:
        assert word in err, err


def test_recommend_prints_a_table_and_json(capsys, recbole_run):
    code, out, _ = cli_output(capsys, "recommend", str(recbole_run), "--user", "u6", "--user", "u20",
                              "--k", "3")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == ["user", "rank", "item", "score"] and len(lines) == 7
    expected = kgrec.load(recbole_run).recommend(["u6", "u20"], k=3)
    assert [line.split()[2] for line in lines[1:]] == expected.items.reshape(-1).tolist()
    code, out, _ = cli_output(capsys, "recommend", str(recbole_run), "--user", "u6", "--k", "2",
                              "--format", "json", "--unknown", "popular", "--user", "stranger")
    found = json.loads(out)
    assert code == 0 and found["k"] == 2 and [u["fallback"] for u in found["users"]] == [False, True]
    assert [i["item"] for i in found["users"][0]["items"]] == expected.items[0, :2].tolist()


def test_recommend_with_integer_ids(capsys, filmtrust_run):
    user = str(int(kgrec.load(filmtrust_run).user_ids[0]))
    code, out, _ = cli_output(capsys, "recommend", str(filmtrust_run), "--user", user, "--k", "2",
                              "--format", "json", "--exclude", "none")
    assert code == 0 and json.loads(out)["users"][0]["user"] == int(user)
    one_line_error(*cli_output(capsys, "recommend", str(filmtrust_run), "--user", "abc")[::2],
                   "user id 'abc' is not an integer")


def test_bad_input_exits_2_in_one_line(capsys, recbole_run, tmp_path):
    run = str(recbole_run)
    one_line_error(*cli_output(capsys, "recommend", run, "--user", "nobody")[::2], "unknown user id 'nobody'")
    one_line_error(*cli_output(capsys, "recommend", run, "--user", "u6", "--k", "0")[::2], "--k")
    one_line_error(*cli_output(capsys, "recommend", run, "--user", "u6", "--k", "-3")[::2], "--k")
    one_line_error(*cli_output(capsys, "export", run, "--out", str(tmp_path / "x.csv"), "--k", "0")[::2], "--k")
    one_line_error(*cli_output(capsys, "recommend", str(tmp_path), "--user", "u6")[::2],
                   "not a kgrec run directory")
    incomplete = tmp_path / "incomplete"
    shutil.copytree(recbole_run, incomplete)
    (incomplete / "best.pt").unlink()
    one_line_error(*cli_output(capsys, "recommend", str(incomplete), "--user", "u6")[::2], "no finished run")
    newer = tmp_path / "newer"
    shutil.copytree(recbole_run, newer)
    manifest = json.loads((newer / "config.json").read_text())
    manifest["run_format"] = 7
    (newer / "config.json").write_text(json.dumps(manifest))
    for command in (["recommend", str(newer), "--user", "u6"], ["export", str(newer), "--out", str(tmp_path / "n.csv")],
                    ["compare", run, str(newer), "--no-plot"]):
        one_line_error(*cli_output(capsys, *command)[::2], "run format 7")
    foreign = tmp_path / "foreign"
    shutil.copytree(recbole_run, foreign)
    (foreign / "best.pt").write_bytes(b"not a checkpoint")
    one_line_error(*cli_output(capsys, "recommend", str(foreign), "--user", "u6")[::2], "best.pt")
    one_line_error(*cli_output(capsys, "export", run, "--out", str(tmp_path / "x.json"))[::2],
                   "must end in .csv or .parquet")


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_export_csv_holds_every_users_top_k(capsys, recbole_run, tmp_path):
    out = tmp_path / "top.csv"
    code, printed, _ = cli_output(capsys, "export", str(recbole_run), "--out", str(out), "--k", "4",
                                  "--batch-size", "7", "--quiet", "--embeddings")
    assert code == 0 and "wrote" in printed
    trained = kgrec.load(recbole_run)
    rows = read_csv(out)
    users = trained.user_ids.tolist()
    assert [r["user"] for r in rows[::4]] == users and len(rows) == 4 * len(users)
    expected = trained.recommend(users, k=4)
    assert [r["item"] for r in rows] == expected.items.reshape(-1).tolist()
    assert np.allclose([float(r["score"]) for r in rows], expected.scores.reshape(-1), atol=1e-6)
    assert [int(r["rank"]) for r in rows[:4]] == [1, 2, 3, 4]
    user_table = read_csv(tmp_path / "top.user_embeddings.csv")
    vectors = trained.user_embeddings()
    assert [r["id"] for r in user_table] == users
    assert np.allclose([[float(r[f"e{j}"]) for j in range(vectors.vectors.shape[1])] for r in user_table],
                       vectors.vectors, atol=1e-6)
    assert len(read_csv(tmp_path / "top.item_embeddings.csv")) == trained.data.num_items
    assert not list(tmp_path.glob(".*tmp*"))  # written under a temporary name, then renamed


def test_export_parquet_matches_csv(capsys, filmtrust_run, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed")
    assert cli_output(capsys, "export", str(filmtrust_run), "--out", str(tmp_path / "t.csv"), "--quiet")[0] == 0
    assert cli_output(capsys, "export", str(filmtrust_run), "--out", str(tmp_path / "t.parquet"),
                      "--quiet", "--embeddings")[0] == 0
    table = pq.read_table(tmp_path / "t.parquet").to_pylist()
    rows = read_csv(tmp_path / "t.csv")
    assert [(r["user"], r["item"]) for r in table] == [(int(r["user"]), int(r["item"])) for r in rows]
    assert pq.read_table(tmp_path / "t.item_embeddings.parquet").num_rows == kgrec.load(filmtrust_run).data.num_items


def test_csv_needs_no_pyarrow_and_parquet_says_what_is_missing(capsys, recbole_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert cli_output(capsys, "export", str(recbole_run), "--out", str(tmp_path / "t.csv"), "--quiet")[0] == 0
    one_line_error(*cli_output(capsys, "export", str(recbole_run), "--out", str(tmp_path / "t.parquet"))[::2],
                   "pip install pyarrow")


def test_compare_shows_what_differs_metrics_plot_and_paired_tests(capsys, tmp_path, make_run):
    a = make_run(tmp_path, "sample-recbole", epochs=3)
    b = make_run(tmp_path, "sample-recbole", "mf", epochs=4)
    plot = tmp_path / "curves.png"
    code, out, err = cli_output(capsys, "compare", str(a), str(b), "--plot", str(plot))
    assert code == 0, err
    settings = out.split("settings that differ:")[1].split("metrics")[0]
    keys = {line.split()[0] for line in settings.strip().splitlines()[2:]}
    assert {"recommender", "train.epochs"} <= keys and "train.lr" not in keys and "train.seed" not in keys
    assert "test recall@20" in out and "user-paired tests against [1]" in out
    paired = [line for line in out.splitlines() if line.startswith("[2] recall@20")]
    assert len(paired) == 1 and paired[0].split()[2] == "30"  # users of the test split
    if "no plot" not in out:
        assert plot.read_bytes()[:4] == b"\x89PNG"
    code, out, _ = cli_output(capsys, "compare", str(a), str(b), "--format", "json", "--no-plot")
    found = json.loads(out)
    assert found["settings"]["recommender"] == ["lightgcn", "mf"]
    assert found["paired"][0]["users"]["users"] == 30


def test_compare_refuses_in_one_line(capsys, tmp_path, recbole_run, filmtrust_run):
    one_line_error(*cli_output(capsys, "compare", str(recbole_run))[::2], "at least two")
    unfinished = tmp_path / "unfinished"
    shutil.copytree(recbole_run, unfinished)
    (unfinished / "metrics.json").unlink()
    one_line_error(*cli_output(capsys, "compare", str(recbole_run), str(unfinished))[::2], "not a finished run")
    one_line_error(*cli_output(capsys, "compare", str(recbole_run), str(recbole_run), "--metric", "mrr@5")[::2],
                   "--metric mrr@5")
    code, out, _ = cli_output(capsys, "compare", str(recbole_run), str(filmtrust_run), "--no-plot")
    assert code == 0 and "test splits differ" in out
