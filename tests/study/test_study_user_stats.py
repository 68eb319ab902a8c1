"""User-paired statistics, Holm's adjustment and verdicts against answers worked by hand."""

import math

import numpy as np
import pytest

from kgrec.study.grid import Cell
from kgrec.study.stats import compare, holm, pooled_users, user_paired


def test_holm_on_known_p_values():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, None, 0.6]) == [1.0, None, 1.0]  # m = 2; capped at 1
    assert holm([0.2]) == [0.2] and holm([]) == []


def test_user_paired_tests_by_hand():
    arm, other = np.array([0.3, 0.5, 0.4]), np.array([0.1, 0.2, 0.3])
    out = user_paired(arm, other)
    # differences 0.2, 0.3, 0.1: mean 0.2, sd 0.1; t = 0.2 / (0.1 / sqrt 3) with 2 degrees of freedom,
    # two-sided p = 1 - t / sqrt(t^2 + 2); the 97.5 % t quantile with 2 df is 0.95 / sqrt(2 * 0.975 * 0.025)
    t = 0.2 / (0.1 / math.sqrt(3))
    assert out.users == 3 and out.mean_diff == pytest.approx(0.2)
    assert out.t_stat == pytest.approx(t) and out.t_pvalue == pytest.approx(1 - t / math.sqrt(t * t + 2))
    half = 0.95 / math.sqrt(2 * 0.975 * 0.025) * 0.1 / math.sqrt(3)
    assert (out.ci_low, out.ci_high) == (pytest.approx(0.2 - half), pytest.approx(0.2 + half))
    assert out.dz == pytest.approx(2.0)
    assert out.wilcoxon_pvalue == pytest.approx(2 / 2 ** 3)  # all three positive: exact minimum
    assert out.rel_change == pytest.approx(100 * (0.4 / 0.2 - 1))


def test_user_paired_degenerate_cases_say_why():
    same = user_paired(np.array([0.2, 0.3]), np.array([0.1, 0.2]))
    assert same.t_pvalue is None and "same" in same.note
    assert user_paired(np.array([0.2]), np.array([0.1])).t_pvalue is None


def record(users, values, groups=None):
    out = {"user": np.array(users), "recall@20": np.array(values, dtype=np.float32)}
    if groups is not None:
        out["user_group"] = np.array(groups)
    return out


def test_pooled_users_average_seeds_per_user_and_pair_by_user_id():
    # seed 1 and 2 of the arm; the other arm's records list users in the same order
    arm = {1: record([0, 1, 2, 3], [0.5, 0.0, 1.0, 0.5]), 2: record([0, 1, 2, 3], [0.5, 0.5, 1.0, 0.0])}
    other = {1: record([0, 1, 2, 3], [0.0, 0.0, 0.5, 0.5]), 2: record([0, 1, 2, 3], [0.5, 0.0, 0.5, 0.0])}
    pooled, per_seed = pooled_users(arm, other, "recall@20")
    # per-user means: arm 0.5, 0.25, 1.0, 0.25; other 0.25, 0.0, 0.5, 0.25
    direct = user_paired(np.array([0.5, 0.25, 1.0, 0.25]), np.array([0.25, 0.0, 0.5, 0.25]))
    assert pooled.mean_diff == pytest.approx(direct.mean_diff) and pooled.t_pvalue == pytest.approx(direct.t_pvalue)
    assert [s for s, _ in per_seed] == [1, 2] and per_seed[0][1].mean_diff == pytest.approx(0.25)
    # a group mask keeps a subset of users
    arm_g = {s: {**r, "user_group": np.array([0, 0, 1, 1])} for s, r in arm.items()}
    only, _ = pooled_users(arm_g, other, "recall@20", mask=lambda r: r["user_group"] == 1)
    assert only.users == 2 and only.mean_diff == pytest.approx(((1.0 - 0.5) + 0.0) / 2)


def cell(arm, seed, floor=False):
    return Cell(id=f"{arm}-{seed}", dataset="d", noise=(), recommender="mf", arm=arm,
                augmenter="none", seed=seed, noise_seed=None, config=None, floor=floor)


def test_compare_adjusts_each_arms_family_and_says_when_a_floor_is_not_beaten():
    cells = [cell(a, s, a.startswith("floor:")) for a in ("none", "aug", "floor:pop", "floor:ease") for s in (1, 2)]
    means = {"none": 0.30, "aug": 0.40, "floor:pop": 0.50, "floor:ease": 0.20}
    rng = np.random.default_rng(0)
    results, records = {}, {}
    for c in cells:
        values = np.clip(means[c.arm] + rng.normal(0, 0.05, 50), 0, 1)
        results[c.id] = {"metrics": {"test": {"recall@20": float(values.mean())}}}
        records[c.id] = record(list(range(50)), values)
    comps = compare(cells, results, records, ["recall@20"], "none")
    by = {(c.arm, c.other): c for c in comps}
    assert set(by) == {("aug", "none"), ("aug", "floor:pop"), ("aug", "floor:ease"),
                       ("none", "floor:pop"), ("none", "floor:ease")}
    aug = [by[("aug", o)] for o in ("none", "floor:pop", "floor:ease")]
    assert all(c.family == 3 for c in aug) and by[("none", "floor:pop")].family == 2
    assert [c.holm_users_t for c in aug] == pytest.approx(holm([c.users.t_pvalue for c in aug]))
    assert by[("aug", "floor:pop")].verdict() == "does NOT beat floor:pop"
    assert by[("aug", "floor:ease")].verdict().startswith("beats floor:ease")
    assert by[("aug", "floor:pop")].to_dict()["verdict"] == "does NOT beat floor:pop"
