"""Studies with floors, training until converged and equal-budget tuning: the grid, then one
small study end to end through `kgrec study` (tuned, run, resumed, reported)."""

import json
import tomllib

import pytest

from kgrec.errors import ConfigError
from kgrec.study.grid import expand, identity, parse_study
from kgrec.testing import cli_output, run_cli

TINY = "synthetic?num_users=60&num_items=40"
GRID = f"""
datasets = ["{TINY}"]
recommenders = ["mf", "lightgcn"]
seeds = [1, 2, 3]
floors = ["pop", "ease"]
noise = {{ interactions = [0, 0.2] }}
base = {{ train = {{ epochs = 2 }}, lightgcn = {{ layers = 1 }} }}
[augmenters.none]
"""


def study(text=GRID, **changes):
    raw = tomllib.loads(text)
    raw.update(changes)
    return parse_study(raw)


def test_floors_sit_beside_every_recommender_and_clean_floors_run_once():
    cells = expand(study())
    floors = [c for c in cells if c.floor]
    assert {c.arm for c in floors} == {"floor:pop", "floor:ease"} and {c.recommender for c in floors} == {"mf", "lightgcn"}
    clean = {c.id for c in floors if not c.noise and c.arm == "floor:pop"}
    assert len(clean) == 1  # deterministic: one run serves both recommenders and all seeds
    noisy = {c.id for c in floors if c.noise and c.arm == "floor:pop"}
    assert len(noisy) == 3  # the noisy data differs per seed
    pop = next(c for c in floors if c.arm == "floor:pop")
    assert pop.config.recommender == "pop" and pop.config.augmenter == "none" and "lightgcn" not in pop.config.to_dict()


def test_until_converged_sets_the_safety_cap_and_ids_ignore_later_defaults():
    cells = expand(study(until_converged={"max_epochs": 7}))
    assert {c.config.train.epochs for c in cells if not c.floor} == {7}
    assert expand(study(until_converged=True))[0].config.train.epochs == 500
    plain = expand(study())[0]
    assert "user_quantiles" not in identity(plain.config)["eval"]  # old cells keep their ids
    moved = expand(study(base={"train": {"epochs": 2}, "eval": {"user_quantiles": [0.5]}}))[0]
    assert moved.id != plain.id and identity(moved.config)["eval"]["user_quantiles"] == [0.5]


@pytest.mark.parametrize("changes, message", [
    ({"floors": ["mf"]}, "not fitted in closed form"),
    ({"until_converged": 0}, "until_converged must be"),
    ({"tune": {"epochs": 3}}, "tune needs trials"),
    ({"tune": {"trials": 2, "trails": 3}}, "did you mean trials"),
    ({"tune": {"trials": 2, "prune": "yes"}}, "tune.prune must be"),
])
def test_bad_new_keys_fail_in_one_line(changes, message):
    with pytest.raises(ConfigError, match=message):
        study(**changes)


STUDY = f"""
name = "floors"
datasets = ["{TINY}"]
recommenders = ["mf"]
seeds = [1, 2]
floors = ["pop", "ease"]
until_converged = {{ max_epochs = 3 }}
base = {{ train = {{ epochs = 1, backend = "torch", device = "cpu", batch_size = 256, patience = 1 }} }}
tune = {{ trials = 2, epochs = 2 }}
[augmenters.none]
"""


def test_a_tuned_study_with_floors_end_to_end(tmp_path, capsys):
    spec, out = tmp_path / "floors.toml", tmp_path / "out"
    spec.write_text(STUDY)
    code, stdout, _ = cli_output(capsys, "study", str(spec), "--out", str(out), "--quiet", "--no-plots")
    assert code == 0, stdout
    assert stdout.count("tuning ") == 2  # the arm and ease; pop has nothing to tune
    summaries = [json.loads(p.read_text()) for p in out.glob("tune/*/summary.json")]
    assert sorted(len(s["best"]["params"]) for s in summaries) == [1, 2]  # ease.l2; train.lr and mf.reg
    tuned = next(s for s in summaries if "mf.reg" in s["best"]["params"])["best"]["params"]
    results = [json.loads(p.read_text()) for p in out.glob("cells/*/result.json")]
    arm = [r for r in results if r["arm"] == "none"]
    assert len(arm) == 2 and all(r["config"]["train"]["lr"] == tuned["train.lr"] for r in arm)
    assert all(r["config"]["train"]["epochs"] == 3 for r in arm)  # the safety cap
    assert len([r for r in results if r["floor"]]) == 2  # clean: one run per floor
    md = (out / "report" / "results.md").read_text()
    assert "## Floors" in md and "Every arm was tuned before its seeds ran" in md
    assert "Δ per user [95 % CI]" in md and "converged" in md and "by user training degree" in md
    assert ("does NOT beat" in md) or ("beats floor:" in md) or ("not significantly" in md)
    report = json.loads((out / "report" / "results.json").read_text())
    assert {c["other"] for c in report["comparisons"]} == {"floor:pop", "floor:ease"}
    assert all(c["users"] is not None for c in report["comparisons"])
    # resumed: nothing tunes or trains again, and the report is rebuilt identically
    code, again, _ = cli_output(capsys, "study", str(spec), "--out", str(out), "--quiet", "--no-plots")
    assert code == 0 and "tuning" not in again and "0 cells run" in again
    assert (out / "report" / "results.md").read_text() == md
    assert run_cli("study", str(spec), "--out", str(out), "--report", "--no-plots") == 0
    assert (out / "report" / "results.md").read_text() == md
    code, listing, _ = cli_output(capsys, "study", str(spec), "--out", str(out), "--dry-run")
    assert code == 0 and "4 of 4 cells finished" in listing


def test_report_says_plainly_when_a_study_has_no_floors(tmp_path, capsys):
    spec = tmp_path / "nofloor.toml"
    spec.write_text(STUDY.replace('floors = ["pop", "ease"]\n', "").replace("tune = { trials = 2, epochs = 2 }\n", "")
                    .replace("seeds = [1, 2]", "seeds = [1]"))
    code, stdout, _ = cli_output(capsys, "study", str(spec), "--out", str(tmp_path / "o"), "--quiet", "--no-plots")
    assert code == 0, stdout
    assert "**No floors**" in (tmp_path / "o" / "report" / "results.md").read_text()
