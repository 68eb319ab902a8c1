"""Study grids: expansion counts and order, variant naming, stable cell ids, early errors."""

import tomllib

import pytest

from kgrec.errors import ConfigError
from kgrec.study.grid import expand, parse_study

TINY = "synthetic?num_users=60&num_items=40"

STUDY = f"""
name = "grid"
datasets = ["{TINY}", {{ name = "small", spec = "synthetic?num_users=50&num_items=30" }}]
recommenders = ["mf", "lightgcn"]
seeds = [1, 2, 3]
noise = {{ social = [0, 0.2, 0.5] }}

[base]
train = {{ epochs = 2 }}
lightgcn = {{ layers = 1 }}

[augmenters.none]
[augmenters.recdiff.variants]
full = {{}}
no-diffusion = {{ recdiff.mode = "none" }}
fast = ["recdiff.diffusion.steps=5", "train.lr=0.01"]
"""


def study(text=STUDY, **changes):
    raw = tomllib.loads(text)
    raw.update(changes)
    return parse_study(raw)


def test_expansion_counts_order_and_variant_names():
    s = study()
    cells = expand(s)
    assert [a.label for a in s.arms] == ["none", "recdiff:full", "recdiff:no-diffusion", "recdiff:fast"]
    assert len(cells) == 2 * 3 * 2 * 4 * 3  # datasets x noise x recommenders x arms x seeds
    assert len({c.id for c in cells}) == len(cells)
    first = cells[:3]
    assert [c.seed for c in first] == [1, 2, 3] and {c.arm for c in first} == {"none"}
    assert {c.dataset for c in cells} == {TINY, "small"}
    assert [c.noise_label for c in cells[::24]] == ["clean", "social=0.2", "social=0.5"] * 2
    fast = next(c for c in cells if c.arm == "recdiff:fast")
    assert fast.config.augmenter_config.diffusion.steps == 5 and fast.config.train.lr == 0.01
    no_diff = next(c for c in cells if c.arm == "recdiff:no-diffusion")
    assert no_diff.config.augmenter_config.mode == "none" and no_diff.augmenter == "recdiff"
    lgcn = next(c for c in cells if c.recommender == "lightgcn")
    assert lgcn.config.recommender_config.layers == 1 and lgcn.config.train.epochs == 2
    assert fast.config.train.seed == fast.seed
    # noise is seeded by the cell's own seed unless noise_seed is given; clean cells have none
    assert all((c.noise_seed == c.seed) if c.noise else c.noise_seed is None for c in cells)


def test_cell_ids_are_stable_under_grid_edits():
    ids = {(c.group, c.seed): c.id for c in expand(study())}
    again = {(c.group, c.seed): c.id for c in expand(study())}
    assert ids == again
    bigger = study(seeds=[1, 2, 3, 4], recommenders=["lightgcn", "mf", "gcn"])
    grown = {(c.group, c.seed): c.id for c in expand(bigger)}
    assert all(grown[key] == value for key, value in ids.items())  # old cells keep their ids
    assert len(grown) == 2 * 3 * 3 * 4 * 4
    # a renamed variant with the same settings is the same cell; a changed setting is not
    renamed = study(STUDY.replace("no-diffusion =", "minus-d ="))
    assert {c.id for c in expand(renamed)} == set(ids.values())
    changed = {(c.group, c.seed): c.id for c in expand(study(STUDY.replace("epochs = 2", "epochs = 3")))}
    assert not set(changed.values()) & set(ids.values())
    # the noise seed matters for noisy cells only
    fixed = {(c.group, c.seed): c.id for c in expand(study(noise_seed=9))}
    assert all((fixed[k] == v) == (k[0][1] == "clean") for k, v in ids.items())


def test_identical_arms_share_a_cell_and_zero_noise_is_clean():
    s = study(augmenters={"none": {"variants": {"a": {}, "b": ["train.epochs=2"]}}},
              noise={"social": [0.0]}, seeds=2)
    cells = expand(s)
    assert s.seeds == [1, 2] and s.noise == [{}]
    by_arm = {(c.dataset, c.recommender, c.arm, c.seed): c.id for c in cells}
    assert by_arm[(TINY, "mf", "none:a", 1)] == by_arm[(TINY, "mf", "none:b", 1)]


@pytest.mark.parametrize("changes, message", [
    ({"seeds": [1, 1]}, "listed twice"),
    ({"nosie": {}}, "did you mean noise"),
    ({"base": {"train": {"seed": 3}}}, "seeds"),
    ({"base": {"lightgnc": {"layers": 2}}}, "did you mean lightgcn"),
    ({"base": {"train": {"epoch": 3}}}, "train.epoch"),
    ({"baseline": "diffkg"}, "not one of the study's arms"),
    ({"metrics": ["recall@25"]}, "not evaluated"),
    ({"noise": {"social": [2.0]}}, r"\[0, 1\]"),
])
def test_bad_studies_fail_before_training(changes, message):
    with pytest.raises(ConfigError, match=message):
        expand(study(**changes))


def test_command_line_grid_equals_the_toml_one():
    from kgrec.cli.study_cmd import _overrides
    from kgrec.study.grid import load_study

    text = f"""
    datasets = ["{TINY}"]
    recommenders = ["mf"]
    seeds = [1, 2]
    noise = {{ social = [0, 0.5] }}
    base = {{ train = {{ epochs = 1 }} }}
    [augmenters.none]
    [augmenters.recdiff.variants]
    full = {{}}
    no-d = {{ recdiff.mode = "none" }}
    """
    overrides = _overrides(None, [TINY], ["mf"], ["none"], ["recdiff:full", "recdiff:no-d recdiff.mode=none"],
                           "1,2", ["social=0,0.5"], None, None, [])
    from_cli = load_study(None, overrides, {"train": {"epochs": 1}})
    assert [c.id for c in expand(from_cli)] == [c.id for c in expand(study(text))]
