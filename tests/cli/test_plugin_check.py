"""``kgrec plugins --check NAME``: a checklist, and exit 2 with one line per problem."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from kgrec import GraphAugmenter, Recommender
from kgrec import registry
from kgrec.testing import cli_output as invoke


class FakeEntryPoint:
    """Stands in for an installed plugin's entry point (no distribution behind it)."""

    def __init__(self, name, cls):
        self.name, self.value, self.dist, self._cls = name, f"fake_module:{name}", None, cls

    def load(self):
        if isinstance(self._cls, Exception):
            raise self._cls
        return self._cls


@pytest.fixture
def register(monkeypatch):
    real = registry._entry_points

    def install(kind, name, cls):
        def fake(k):
            found = dict(real(k))
            if k == kind:
                found[name] = FakeEntryPoint(name, cls)
            return found
        monkeypatch.setattr(registry, "_entry_points", fake)
    return install


@dataclass
class GoodConfig:
    keep: float = 0.5
    """An option."""


class Good(GraphAugmenter):
    Config = GoodConfig
    presets = {"mild": {"augmenter": {"keep": 0.9}, "recommender": {"dim": 16}, "train": {"lr": 0.01}}}


@dataclass
class BadConfig:
    keep: float
    untyped = 3
    items: list = field(default_factory=list)


class Bad(GraphAugmenter):
    Config = BadConfig
    requires = frozenset({"kg", "images"})
    presets = {"x": {"augmenter": {"kep": 0.1}, "recommender": {"dimm": 8}, "train": {"lr": "fast"},
                     "model": {}}}


class Crashes(GraphAugmenter):
    Config = GoodConfig

    def loss(self, emb, batch, ctx):
        raise RuntimeError("boom in loss")


def test_builtins_pass(capsys):
    code, out, err = invoke(capsys, "plugins", "--check", "lightgcn")
    assert code == 0, err
    assert "FAIL" not in out and "all checks passed" in out
    assert "1-epoch run of none+lightgcn" in out


def test_a_good_plugin_passes_every_check(capsys, register):
    register("augmenter", "good_aug", Good)
    code, out, err = invoke(capsys, "plugins", "--check", "good_aug")
    assert code == 0, err
    lines = [l for l in out.splitlines() if l.startswith("  ")]
    assert len(lines) == 7 and all(l.strip().startswith("ok") for l in lines)


def test_every_static_problem_is_one_line(capsys, register):
    register("augmenter", "bad_aug", Bad)
    code, out, err = invoke(capsys, "plugins", "--check", "bad_aug")
    assert code == 2
    errors = err.strip().splitlines()
    assert all(line.startswith("error: bad_aug (augmenter): ") for line in errors)
    text = "\n".join(errors)
    assert "field keep has no default" in text
    assert "kep" in text and "dimm" in text and "lr" in text and "model" in text
    assert "unknown side data images" in text
    assert "1-epoch run" not in out  # no run for a plugin that fails the static checks
    assert len(errors) == 6 and out.count("FAIL") == 3  # one line per problem, grouped by check


class BackboneSections(GraphAugmenter):
    Config = GoodConfig
    presets = {"paper": {"recommender": {"reg": 1e-4}, "lightgcn": {"layers": 1, "reg_on": "tables"}},
               "typos": {"lightgcn": {"layers": "one", "reg_on": "all"}, "mf": {"layers": 2},
                         "lightgnc": {"layers": 1}}}


def test_a_section_per_recommender_is_checked_with_that_recommenders_config(capsys, register):
    register("augmenter", "sections", BackboneSections)
    code, out, err = invoke(capsys, "plugins", "--check", "sections")
    assert code == 2
    errors = err.strip().splitlines()
    assert len(errors) == 3 and "paper" not in err  # one line per bad section; `paper` is fine
    text = "\n".join(errors)
    assert "[lightgcn] lightgcn.layers must be an integer" in text
    assert "[mf] unknown config key mf.layers" in text
    assert "[lightgnc] is not a section" in text and "installed recommender" in text


def test_a_failing_run_is_reported_with_where_it_failed(capsys, register):
    register("augmenter", "crashes", Crashes)
    code, out, err = invoke(capsys, "plugins", "--check", "crashes")
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "RuntimeError: boom in loss" in err and "test_plugin_check.py" in err


def test_wrong_interface_and_unloadable_plugins(capsys, register):
    class NotAnAugmenter(Recommender):
        Config = GoodConfig
    register("augmenter", "wrong_kind", NotAnAugmenter)
    code, _, err = invoke(capsys, "plugins", "--check", "wrong_kind")
    assert code == 2 and "is not a GraphAugmenter" in err
    register("augmenter", "broken", ImportError("No module named 'torch_scatter'"))
    code, _, err = invoke(capsys, "plugins", "--check", "broken")
    assert code == 2 and err.count("\n") == 1 and "torch_scatter" in err


def test_unknown_name_is_a_one_line_error(capsys):
    code, _, err = invoke(capsys, "plugins", "--check", "nosuch")
    assert code == 2 and err.strip().count("\n") == 0 and "no augmenter or recommender named 'nosuch'" in err
