"""Bring your own data through `kgrec run`: a CSV with its columns mapped on the command line,
the run record of filters and split, --eval-on, and bad input as one line, exit 2, and no run
directory left behind."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kgrec.testing import cli_output


def ratings_csv(tmp_path, users=40, items=30, seed=0):
    rng = np.random.default_rng(seed)
    rows = ["uid;mid;stars;when"]
    for u in range(users):
        for i in rng.choice(items, size=int(rng.integers(6, 14)), replace=False):
            rows.append(f"user{u};{i * 7};{rng.integers(1, 6)};{rng.integers(0, 10**6)}")
    path = tmp_path / "ratings.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


MAP = ["--set", "data.user=uid", "--set", "data.item=mid", "--set", "data.rating=stars",
       "--set", "data.time=when"]
FAST = ["-r", "mf", "--epochs", "2", "--quiet", "--set", "train.batch_size=256"]


def test_a_mapped_csv_runs_and_the_run_records_filters_and_split(tmp_path, capsys):
    data = ratings_csv(tmp_path)
    out = tmp_path / "run"
    code, _, err = cli_output(capsys, "run", "--dataset", str(data), *FAST, *MAP, "--out", str(out),
                              "--set", "data.rating_min=2", "--set", "data.user_core=3",
                              "--set", "split.method=leave_one_out")
    assert code == 0, err
    manifest = json.loads((out / "config.json").read_text())
    split = manifest["split"]
    assert split["method"] == "leave_one_out" and split["order"] == "time"
    assert [f["filter"] for f in split["filters"]] == ["dedup", "rating threshold", "k-core"]
    assert split["tabular"]["columns"] == {"user": "uid", "item": "mid", "rating": "stars", "time": "when"}
    assert manifest["config"]["data"]["rating_min"] == 2.0
    saved = np.load(out / "split.npz")
    assert np.bincount(saved["test_users"]).max() == 1


def test_arms_with_the_same_split_settings_share_the_split(tmp_path, capsys):
    data = ratings_csv(tmp_path, seed=1)
    digests = []
    for k, (rec, seed) in enumerate((("mf", "1"), ("lightgcn", "2"))):
        out = tmp_path / f"arm{k}"
        code, _, err = cli_output(capsys, "run", "--dataset", str(data), "-r", rec, "--seed", seed,
                                  "--epochs", "1", "--quiet", *MAP, "--out", str(out),
                                  "--set", "split.method=user_temporal", "--set", "split.test_n=2")
        assert code == 0, err
        digests.append(json.loads((out / "config.json").read_text())["split"]["sha256"])
    assert digests[0] == digests[1]


def test_eval_on_valid_never_reads_test_and_allows_no_test_split(tmp_path, capsys):
    data = ratings_csv(tmp_path, seed=2)
    out = tmp_path / "no-test"
    code, _, err = cli_output(capsys, "run", "--dataset", str(data), *FAST, *MAP, "--out", str(out),
                              "--set", "split.test_ratio=0")
    assert code == 2 and "split.test_ratio = 0 holds out no test pairs" in err and "--eval-on valid" in err
    assert not out.exists()
    code, stdout, err = cli_output(capsys, "run", "--dataset", str(data), *FAST, *MAP, "--out", str(out),
                                   "--set", "split.test_ratio=0", "--eval-on", "valid")
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"] == {} and metrics["valid"] and "per_user" not in metrics
    assert "validation (--eval-on valid" in stdout and "test@" not in stdout


@pytest.mark.parametrize("body,settings,where,needle", [
    ("uid;mid\nu1;1\nu1;2\n", ["--set", "data.user=user"], "ratings.csv:1:",
     "data.user = 'user' names no column (columns found: uid, mid)"),
    ("uid;mid\nu1;1\nu1;2;3\n", ["--set", "data.user=uid", "--set", "data.item=mid"], "ratings.csv:3:",
     "expected 2 fields"),
    ("uid;mid;stars\nu1;1;1\nu1;2;2\n", ["--set", "data.user=uid", "--set", "data.item=mid",
                                           "--set", "data.rating=stars", "--set", "data.rating_min=4"],
     "ratings.csv:", "after the rating threshold filter (>= 4)"),
])
def test_bad_input_is_one_line_exit_2_and_leaves_no_run_directory(tmp_path, capsys, body, settings,
                                                                    where, needle):
    path = tmp_path / "ratings.csv"
    path.write_text(body)
    out = tmp_path / "run"
    code, _, err = cli_output(capsys, "run", "--dataset", str(path), *FAST, *settings, "--out", str(out))
    assert code == 2, err
    assert err.startswith("error: ") and err.strip().count("\n") == 0, err
    assert f"{path.parent}/{where}" in err and needle in err, err
    assert not out.exists()


def test_a_run_refused_after_its_directory_was_started_leaves_nothing(tmp_path, capsys):
    data = ratings_csv(tmp_path, seed=3)
    out = tmp_path / "run"
    code, _, err = cli_output(capsys, "run", "--dataset", str(data), *FAST, *MAP, "--out", str(out),
                              "--set", "train.select_metric=recall@7")
    assert code == 2 and "needs its K in eval.topk" in err
    assert not out.exists()
