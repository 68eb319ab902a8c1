"""eval.track_test logs the test metrics of every evaluated epoch and changes nothing else."""

from kgrec.testing import tiny_run


def test_tracking_test_logs_it_per_epoch_and_selects_nothing(tmp_path):
    plain = tiny_run("none", "lightgcn", tmp_path / "plain", epochs=3, options={"train": {"lr": 0.01}})
    tracked = tiny_run("none", "lightgcn", tmp_path / "tracked", epochs=3,
                       options={"train": {"lr": 0.01}, "eval": {"track_test": True}})
    assert tracked.test == plain.test and tracked.best_epoch == plain.best_epoch
    for a, b in zip(plain.history, tracked.history):
        assert {k: v for k, v in a.items() if not k.endswith("seconds")} == \
            {k: v for k, v in b.items() if not k.endswith("seconds") and not k.startswith("test_")}
    assert all("test_recall@20" in row and "test_recall@20" not in p
               for row, p in zip(tracked.history, plain.history))
    # the logged test metrics of the selected epoch are the reported ones
    assert tracked.history[tracked.best_epoch - 1]["test_ndcg@20"] == tracked.test["ndcg@20"]
