"""`kgrec tune`: resumes from its SQLite file, never reads the test split, writes a best
config that `kgrec run --config` and studies accept, and refuses bad spaces in one line."""

import csv
import json

import pytest

from kgrec.data.synthetic import tiny_spec
from kgrec.errors import ConfigError
from kgrec.testing import cli_output, run_cli
from kgrec.tune import build_space, tune
from kgrec.tune import runner as tune_runner

BASE = {"recommender": "mf", "dataset": tiny_spec(),
        "train": {"epochs": 2, "device": "cpu", "backend": "torch", "batch_size": 256, "patience": 2}}


def rows(out):
    with open(out / "trials.csv") as handle:
        return list(csv.DictReader(handle))


def test_tuning_resumes_from_its_sqlite_file(tmp_path):
    out = tmp_path / "t"
    first = tune(BASE, trials=2, out=out, log=None)
    assert (out / "tune.db").is_file() and len(first.trials) == 2
    again = tune(BASE, trials=3, out=out, log=None)  # a new call on the same storage adds one trial
    table = rows(out)
    assert [r["number"] for r in table] == ["0", "1", "2"] and {r["state"] for r in table} == {"COMPLETE"}
    assert [r["param train.lr"] for r in table[:2]] == [str(t["param train.lr"]) for t in first.trials]
    assert table[2]["param train.lr"] not in {table[0]["param train.lr"], table[1]["param train.lr"]}
    assert again.best_value == max(float(r["value"]) for r in table)
    assert tune(BASE, trials=3, out=out, log=None).trials == again.trials  # nothing left to do


def test_an_interrupted_trial_is_lost_and_the_next_call_finishes(tmp_path, monkeypatch):
    out = tmp_path / "t"
    real = tune_runner.run
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(tune_runner, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tune(BASE, trials=3, out=out, log=None)
    monkeypatch.setattr(tune_runner, "run", real)
    tune(BASE, trials=3, out=out, log=None)
    states = [r["state"] for r in rows(out)]
    assert states.count("COMPLETE") == 3 and states.count("FAIL") == 1


def test_trials_never_see_the_test_split(tmp_path, monkeypatch):
    seen = []
    real = tune_runner.run

    def spy(config, **kwargs):
        seen.append((len(kwargs["data"].test), kwargs["test"], len(kwargs["data"].valid)))
        return real(config, **kwargs)

    monkeypatch.setattr(tune_runner, "run", spy)
    tune(BASE, trials=2, out=tmp_path / "t", log=None)
    assert seen and all(test_pairs == 0 and test is False and valid > 0 for test_pairs, test, valid in seen)
    metrics = json.loads((tmp_path / "t" / "trials" / "0000" / "metrics.json").read_text())
    assert metrics["test"] == {} and "per_user" not in metrics
    assert not (tmp_path / "t" / "trials" / "0000" / "best.pt").exists()
    with pytest.raises(ConfigError, match="never reads the test split"):
        tune({**BASE, "eval": {"track_test": True}}, trials=1, out=tmp_path / "u", log=None)


def test_best_toml_runs_with_kgrec_run_and_feeds_a_study(tmp_path, capsys):
    out = tmp_path / "t"
    result = tune(BASE, trials=2, out=out, log=None)
    text = (out / "best.toml").read_text()
    assert text.startswith("# kgrec tune: the best of 2") and "the test split was not read" in text
    code, stdout, _ = cli_output(capsys, "run", "--config", str(out / "best.toml"), "--quiet",
                                 "--out", str(tmp_path / "run"))
    assert code == 0
    used = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert used["train"]["lr"] == result.best_params["train.lr"] and used["mf"]["reg"] == result.best_params["mf.reg"]
    from kgrec.study.grid import expand, parse_study

    study = parse_study({"datasets": [tiny_spec()], "recommenders": ["mf"], "seeds": [1, 2],
                         "augmenters": {"none": {"variants": {"tuned": str(out / "best.toml")}}}})
    cells = expand(study)
    assert {c.config.train.lr for c in cells} == {result.best_params["train.lr"]}
    assert [c.config.train.seed for c in cells] == [1, 2]  # the study's seeds, not the tuning's


def test_search_spaces_defaults_overrides_and_one_line_errors(tmp_path, capsys):
    from kgrec import registry

    rec, aug = registry.load("recommender", "lightgcn"), registry.load("augmenter", "none")
    space = build_space("lightgcn", rec, "none", aug)
    assert set(space) == {"train.lr", "lightgcn.layers", "lightgcn.reg"} and space["lightgcn.layers"].kind == "int"
    override = tmp_path / "space.toml"
    override.write_text('lightgcn.reg = false\n"lightgcn.layers" = { choices = [1, 2] }\n')
    space = build_space("lightgcn", rec, "none", aug, override)
    assert set(space) == {"train.lr", "lightgcn.layers"} and space["lightgcn.layers"].choices == (1, 2)
    assert set(build_space("ease", registry.load("recommender", "ease"), "none", aug)) == {"ease.l2"}
    only = build_space("lightgcn", rec, "none", aug, {"replace": True, "train": {"batch_size": {"choices": [256]}}})
    assert set(only) == {"train.batch_size"}
    bad = tmp_path / "bad.toml"
    for text, message in [('"mf.regg" = { low = 0.1, high = 1.0 }', "mf.regg"),
                          ('"train.lr" = { low = 1.0, high = 0.1 }', "low < high"),
                          ('"train.lr" = { low = 0.0, high = 0.1, log = true }', "low > 0")]:
        bad.write_text(text + "\n")
        code, _, err = cli_output(capsys, "tune", "-r", "mf", "--dataset", tiny_spec(), "--trials", "1",
                                  "--space", str(bad), "--out", str(tmp_path / "x"))
        assert code == 2 and err.count("\n") == 1 and message in err, err


def test_tune_command_end_to_end(tmp_path, capsys):
    code, out, _ = cli_output(capsys, "tune", "-r", "mf", "--dataset", tiny_spec(), "--epochs", "2",
                              "--trials", "2", "--device", "cpu", "--out", str(tmp_path / "t"),
                              "--set", "train.batch_size=256")
    assert code == 0 and "best valid recall@20" in out and "trial 1:" in out
    assert (tmp_path / "t" / "best.toml").is_file() and len(rows(tmp_path / "t")) == 2
    assert run_cli("tune", "-r", "mf", "--trials", "0") == 2
