"""Filters (dedup, rating threshold, requirements, k-core) and split methods (random, temporal,
per-user temporal, leave-one-out, given): each checked against a plain reference on small
tables, for determinism, and for independence from row order."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec.config import DataConfig, SplitConfig
from kgrec.data import load_dataset
from kgrec.data.filters import Side, Table, apply_filters, dedup_mask, kcore_mask
from kgrec.data.split import split_per_user, split_table
from kgrec.errors import ConfigError, KgrecError


def random_table(seed=0, users=40, items=30, rows=400, with_time=True):
    rng = np.random.default_rng(seed)
    u = rng.integers(0, users, rows)
    i = np.minimum(rng.geometric(0.08, rows) - 1, items - 1)
    t = rng.integers(0, 1000, rows).astype(float) if with_time else None
    return Table(u, i, users, items, rating=rng.integers(1, 6, rows).astype(float), time=t)


def test_dedup_keeps_the_first_or_last_by_time():
    table = Table(np.array([0, 0, 0, 1]), np.array([5, 5, 5, 5]), 2, 6,
                  time=np.array([30.0, 10.0, 20.0, 1.0]))
    assert dedup_mask(table, "first").tolist() == [False, True, False, True]
    assert dedup_mask(table, "last").tolist() == [True, False, False, True]
    table.time = None  # without times: file order
    assert dedup_mask(table, "first").tolist() == [True, False, False, True]


def kcore_reference(users, items, uk, ik):
    """The k-core by the definition, one pair at a time (test only)."""
    pairs = list(zip(users.tolist(), items.tolist()))
    while True:
        du, di = {}, {}
        for u, i in pairs:
            du[u] = du.get(u, 0) + 1
            di[i] = di.get(i, 0) + 1
        kept = [(u, i) for u, i in pairs if du[u] >= uk and di[i] >= ik]
        if len(kept) == len(pairs):
            return sorted(kept)
        pairs = kept


@pytest.mark.parametrize("uk,ik", [(2, 2), (5, 3), (3, 8), (10, 10)])
def test_kcore_reaches_the_fixed_point(uk, ik):
    table = random_table(seed=uk * 10 + ik)
    keep = dedup_mask(table)
    core = kcore_mask(table.users, table.items, keep, table.num_users, table.num_items, uk, ik)
    got = sorted(zip(table.users[core].tolist(), table.items[core].tolist()))
    assert got == kcore_reference(table.users[keep], table.items[keep], uk, ik)
    if got:
        assert np.bincount(table.users[core]).max() >= uk


def test_filters_run_in_order_and_record_what_each_removed():
    table = random_table(seed=3)
    keep, records = apply_filters(table, Side(), DataConfig(rating_min=3, user_core=3, item_core=3), "t")
    assert [r["filter"] for r in records] == ["dedup", "rating threshold", "k-core"]
    assert sum(r["removed"] for r in records) == len(table) - keep.sum()
    assert records[-1]["interactions"] == keep.sum()
    assert (table.rating[keep] >= 3).all()


def test_random_split_by_method_is_todays_split():
    table = random_table(seed=1, with_time=False)
    keep = dedup_mask(table)
    u, i = table.users[keep], table.items[keep]
    old = split_per_user(u, i, table.num_users, 0.1, 0.2, 7)
    new = split_table(u, i, table.num_users, SplitConfig(method="random", valid_ratio=0.1, test_ratio=0.2, seed=7))
    assert old[3] == new[3] and old[3]["method"] == "per_user_random"


def _split(method, table, **cfg):
    keep = dedup_mask(table)
    return split_table(table.users[keep], table.items[keep], table.num_users,
                       SplitConfig(method=method, **cfg), time=table.time[keep])


def test_global_temporal_split_cuts_by_time():
    table = random_table(seed=2)
    train, valid, test, info = _split("temporal", table, valid_ratio=0.1, test_ratio=0.2)
    keep = dedup_mask(table)
    time = dict(zip(zip(table.users[keep].tolist(), table.items[keep].tolist()), table.time[keep].tolist()))
    at = lambda part: [time[p] for p in zip(part.users.tolist(), part.items.tolist())]  # noqa: E731
    assert max(at(train)) < info["valid_from"] <= min(at(valid))
    assert max(at(valid)) < info["test_from"] <= min(at(test))
    n = keep.sum()
    assert abs(len(test) - 0.2 * n) <= np.sum(table.time[keep] == info["test_from"])
    cold = info["cold_test_pairs"]
    assert cold["users"] == int((~np.isin(test.users, train.users)).sum())
    # a given cut is used as is
    _, _, test2, info2 = _split("temporal", table, test_from=900, valid_ratio=0.0)
    assert info2["test_from"] == 900 and min(at(test2)) >= 900


def test_user_temporal_and_leave_one_out_hold_out_each_users_latest():
    table = random_table(seed=4)
    keep = dedup_mask(table)
    u, i, t = table.users[keep], table.items[keep], table.time[keep]
    train, valid, test, info = _split("user_temporal", table, test_n=2, valid_n=1)
    latest = {}
    for user in np.unique(u):
        mine = np.flatnonzero(u == user)
        order = mine[np.argsort(-t[mine], kind="stable")]
        latest[int(user)] = t[order]
    for user, times in latest.items():
        n_test = int((test.users == user).sum())
        n_valid = int((valid.users == user).sum())
        assert n_test == min(2, len(times) - 1) and n_valid == min(1, max(len(times) - 1 - n_test, 0))
        held = [t[(u == user) & (i == item)][0] for item in test.items[test.users == user]]
        kept = [t[(u == user) & (i == item)][0] for item in train.items[train.users == user]]
        if held and kept:
            assert min(held) >= max(kept)
    _, valid1, test1, info1 = _split("leave_one_out", table)
    assert info1["method"] == "leave_one_out" and info1["order"] == "time"
    assert np.bincount(test1.users).max() == 1 and np.bincount(valid1.users).max() == 1
    _, _, test_r, info_r = _split("leave_one_out", table, order="random", seed=5)
    _, _, test_r2, _ = _split("leave_one_out", table, order="random", seed=5)
    assert info_r["order"] == "random" and np.array_equal(test_r.items, test_r2.items)


def test_splits_do_not_depend_on_row_order():
    table = random_table(seed=6)
    keep = dedup_mask(table)
    perm = np.random.default_rng(0).permutation(int(keep.sum()))
    for method, cfg in (("random", {}), ("random", {"test_n": 2}), ("temporal", {}),
                        ("user_temporal", {"test_ratio": 0.3}), ("leave_one_out", {"order": "random"})):
        a = split_table(table.users[keep], table.items[keep], table.num_users,
                        SplitConfig(method=method, **cfg), time=table.time[keep])
        b = split_table(table.users[keep][perm], table.items[keep][perm], table.num_users,
                        SplitConfig(method=method, **cfg), time=table.time[keep][perm])
        assert a[3]["sha256"] == b[3]["sha256"], method


def test_methods_that_need_what_the_data_lacks_say_so():
    table = random_table(seed=0, with_time=False)
    with pytest.raises(ConfigError, match="needs interaction times"):
        split_table(table.users, table.items, table.num_users, SplitConfig(method="user_temporal"))
    with pytest.raises(ConfigError, match="split.order = random"):
        split_table(table.users, table.items, table.num_users, SplitConfig(method="leave_one_out"))
    with pytest.raises(ConfigError, match="no split of its own"):
        split_table(table.users, table.items, table.num_users, SplitConfig(method="given"))


def test_test_ratio_zero_is_a_valid_setting_with_an_exact_message_where_a_run_needs_a_test():
    from kgrec.experiment.run import check_splits

    split = SplitConfig(test_ratio=0.0)
    data = load_dataset("synthetic?num_users=30&num_items=20&seed=1", "auto", split)
    assert len(data.test) == 0
    with pytest.raises(KgrecError, match=r"empty test split \(split.test_ratio = 0 holds out no test "
                                         r"pairs\).*--eval-on valid"):
        check_splits(data, test=True)
    check_splits(data, test=False)


def test_filters_and_splits_apply_to_other_formats_too(tmp_path):
    spec = "synthetic?num_users=80&num_items=50&seed=2"
    data = load_dataset(spec, "auto", SplitConfig(), DataConfig(user_core=8, item_core=4))
    records = data.split["filters"]
    assert [r["filter"] for r in records] == ["dedup", "k-core"] and records[-1]["removed"] > 0
    every = np.concatenate([data.train.users, data.valid.users, data.test.users])
    assert np.bincount(every).min() >= 8
    assert data.user_ids is not None and len(data.user_ids) == data.num_users  # original ids kept
    loo = load_dataset(spec, "auto", SplitConfig(method="leave_one_out", order="random"))
    assert np.bincount(loo.test.users).max() == 1
    # a kgrec directory's own split stays the given one through the filters
    from kgrec.data import save_kgrec_dir

    save_kgrec_dir(load_dataset(spec), tmp_path / "d")
    given = load_dataset(str(tmp_path / "d"), "auto", SplitConfig(), DataConfig(item_core=2))
    assert given.split["method"] == "given"


def test_refilter_keeps_the_split_when_nothing_is_asked():
    spec = "synthetic?num_users=40&num_items=30&seed=3"
    plain = load_dataset(spec)
    again = load_dataset(spec, "auto", SplitConfig(method="random"))
    assert plain.split["sha256"] == again.split["sha256"]


def test_new_settings_at_their_defaults_leave_study_ids_and_tuning_fingerprints_alone():
    from kgrec.config import ADDED_DEFAULTS
    from kgrec.experiment import resolve_config
    from kgrec.study.grid import identity
    from kgrec.tune.runner import fingerprint

    default = resolve_config({})
    same = identity(default)
    assert "data" not in same and set(same["split"]) == {"valid_ratio", "test_ratio", "seed"}
    assert set(same["eval"]) == {"topk", "track_test"} and "tensorboard" not in same["train"]
    pre_issue = default.to_dict()  # the settings as they were before these were added
    del pre_issue["data"]
    for section, key in ADDED_DEFAULTS:
        pre_issue[section] = {k: v for k, v in pre_issue[section].items() if k != key}
    assert fingerprint(default.to_dict(), {}, "recall@20") == fingerprint(pre_issue, {}, "recall@20")
    changed = identity(resolve_config({"data": {"user_core": 5}, "split": {"method": "temporal"}}))
    assert changed["data"]["user_core"] == 5 and changed["split"]["method"] == "temporal"


def test_table_settings_for_a_format_that_reads_no_table_are_refused():
    with pytest.raises(ConfigError, match=r"data.user, data.sep describe a table file, but synthetic"):
        load_dataset("synthetic?num_users=20&num_items=10&seed=1", "auto", SplitConfig(),
                     DataConfig(user="u", sep=";"))
