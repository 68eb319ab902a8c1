"""Aggregation and paired tests against values computed by hand."""

import math

import pytest

from kgrec.study.grid import Cell
from kgrec.study.stats import mean_std, paired_tests, relative_change, summarize


def cell(arm, seed, noise=()):
    return Cell(id=f"{arm}-{seed}-{noise}", dataset="d", noise=noise, recommender="mf", arm=arm,
                augmenter=arm.split(":")[0], seed=seed, noise_seed=None, config=None)


def result(recall):
    return {"metrics": {"test": {"recall@20": recall}}}


def test_mean_std_relative_change_and_t_test_by_hand():
    base, arm = [0.28, 0.29, 0.33], [0.30, 0.32, 0.34]
    cells = [cell("none", s) for s in (1, 2, 3)] + [cell("aug", s) for s in (1, 2, 3)]
    results = {c.id: result(v) for c, v in zip(cells, base + arm)}
    rows = {r.arm: r for r in summarize(cells, results, ["recall@20"], "none")}
    assert rows["none"].mean == pytest.approx(0.30)
    assert rows["none"].std == pytest.approx(math.sqrt((0.02 ** 2 + 0.01 ** 2 + 0.03 ** 2) / 2))
    aug = rows["aug"]
    assert aug.mean == pytest.approx(0.32) and aug.std == pytest.approx(0.02)
    assert aug.rel_change == pytest.approx(100 * (0.32 / 0.30 - 1))
    # differences 0.02, 0.03, 0.01: mean 0.02, sd 0.01, t = 0.02 / (0.01 / sqrt 3);
    # with 2 degrees of freedom the two-sided p is 1 - t / sqrt(t^2 + 2)
    t = 0.02 / (0.01 / math.sqrt(3))
    assert aug.t_stat == pytest.approx(t)
    assert aug.t_pvalue == pytest.approx(1 - t / math.sqrt(t * t + 2))
    assert aug.pairs == 3 and aug.wilcoxon_pvalue is None and "n = 3 < 6" in aug.note
    assert rows["none"].note == "baseline" and rows["none"].t_pvalue is None


def test_only_seeds_both_arms_ran_are_paired():
    cells = [cell("none", s) for s in (1, 2, 3)] + [cell("aug", s) for s in (1, 2, 3)]
    results = {c.id: result(0.1 * (i + 1)) for i, c in enumerate(cells) if c.id != "aug-3-()"}
    aug = next(r for r in summarize(cells, results, ["recall@20"], "none") if r.arm == "aug")
    assert aug.n == 2 and aug.pairs == 2 and set(aug.values) == {1, 2}


def test_wilcoxon_from_six_pairs():
    base = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    arm = [b + d for b, d in zip(base, (0.01, 0.02, 0.03, 0.04, 0.05, 0.06))]
    _, t_p, w_p, note = paired_tests(arm, base)
    assert w_p == pytest.approx(2 / 2 ** 6)  # every difference positive: the exact two-sided minimum
    assert t_p < 0.01 and note == ""


def test_degenerate_cases_say_why():
    _, t_p, _, note = paired_tests([0.2, 0.3, 0.4], [0.1, 0.2, 0.3])
    assert t_p is None and "same for every seed" in note
    assert paired_tests([0.2], [0.1])[:3] == (None, None, None)
    assert relative_change(0.5, 0.0) is None
    assert math.isnan(mean_std([0.3])[1]) and mean_std([0.3])[0] == 0.3


def test_no_baseline_in_group_is_reported():
    cells = [cell("aug", s, noise=(("social", 0.2),)) for s in (1, 2)]
    results = {c.id: result(0.1) for c in cells}
    (row,) = summarize(cells, results, ["recall@20"], "none")
    assert row.baseline is None and "no finished run" in row.note and row.noise == "social=0.2"
