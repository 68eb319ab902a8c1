import pytest

from kgrec import registry
from kgrec.config import (TrainConfig, build, deep_merge, parse_overrides, parse_value,
                          resolve_run_config)
from kgrec.errors import ConfigError
from kgrec.interfaces import GraphAugmenter


def _resolve(raw, aug_cls=None):
    return resolve_run_config(raw, registry.load("recommender", raw.get("recommender", "lightgcn")),
                              aug_cls or registry.load("augmenter", raw.get("augmenter", "none")))


def test_overrides_parse_toml_values():
    got = parse_overrides(["train.lr=0.01", "eval.topk=[5, 10]", "lightgcn.self_loops=false",
                           "dataset=some/dir"])
    assert got == {"train": {"lr": 0.01}, "eval": {"topk": [5, 10]},
                   "lightgcn": {"self_loops": False}, "dataset": "some/dir"}
    assert parse_value("1e-3") == 1e-3


def test_component_options_are_typed_and_checked():
    cfg = _resolve({"lightgcn": {"layers": 3}, "train": {"lr": 1}})
    assert cfg.recommender_config.layers == 3 and cfg.train.lr == 1.0
    with pytest.raises(ConfigError, match="lightgcn.layers must be an integer"):
        _resolve({"lightgcn": {"layers": "three"}})
    with pytest.raises(ConfigError, match="did you mean lightgcn.layers"):
        _resolve({"lightgcn": {"layer": 3}})
    with pytest.raises(ConfigError, match="unknown config section 'mf'"):
        _resolve({"mf": {"dim": 8}})


def test_validation_in_post_init_becomes_config_error():
    with pytest.raises(ConfigError, match="train.epochs"):
        build(TrainConfig, {"epochs": 0}, "train")
    with pytest.raises(ConfigError, match="select_metric"):
        build(TrainConfig, {"select_metric": "auc"}, "train")


def test_preset_sits_between_defaults_and_explicit_settings():
    class WithPreset(GraphAugmenter):
        Config = registry.load("augmenter", "none").Config
        presets = {"small": {"train": {"lr": 0.5, "batch_size": 7}, "recommender": {"dim": 8}}}

    cfg = _resolve({"preset": "small", "train": {"lr": 0.1}}, WithPreset)
    assert cfg.train.lr == 0.1            # explicit wins over preset
    assert cfg.train.batch_size == 7      # preset wins over default
    assert cfg.recommender_config.dim == 8
    with pytest.raises(ConfigError, match="no preset 'big'"):
        _resolve({"preset": "big"}, WithPreset)


def test_a_preset_sets_one_recommenders_own_options_only_when_it_is_chosen():
    class PaperRecipe(GraphAugmenter):
        Config = registry.load("augmenter", "none").Config
        # the backbone-specific section comes first on purpose: it still wins over the generic one
        presets = {"paper": {"lightgcn": {"layers": 1, "reg": 1e-3},
                             "recommender": {"reg": 1e-4, "dim": 32},
                             "mf": {"reg_on": "tables"}}}

    light = _resolve({"preset": "paper"}, PaperRecipe).recommender_config
    assert (light.layers, light.reg, light.dim, light.reg_on) == (1, 1e-3, 32, "input")
    mf = _resolve({"preset": "paper", "recommender": "mf"}, PaperRecipe).recommender_config
    assert (mf.reg, mf.dim, mf.reg_on) == (1e-4, 32, "tables")  # no lightgcn keys reach MF
    gcn = _resolve({"preset": "paper", "recommender": "gcn"}, PaperRecipe).recommender_config
    assert (gcn.layers, gcn.reg, gcn.reg_on) == (2, 1e-4, "output")  # only the generic section
    explicit = _resolve({"preset": "paper", "lightgcn": {"layers": 3}}, PaperRecipe)
    assert explicit.recommender_config.layers == 3      # explicit settings beat the preset
    assert explicit.recommender_config.reg == 1e-3       # ... key by key
    assert "mf" not in explicit.to_dict()                # another backbone's section is not kept


def test_deep_merge_keeps_untouched_keys():
    assert deep_merge({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}}) == {"a": {"x": 1, "y": 3}}


def test_resolved_config_round_trips_to_dict():
    cfg = _resolve({"recommender": "mf", "mf": {"dim": 16}})
    d = cfg.to_dict()
    assert d["mf"] == {"dim": 16, "reg": 1e-4, "reg_on": "input"} and d["train"]["epochs"] == 50
    assert _resolve(d).to_dict() == d


def test_nested_config_sections_keep_the_owners_defaults():
    cfg = _resolve({"augmenter": "recdiff", "recommender": "gcn",
                    "recdiff": {"diffusion": {"steps": 7}}})
    diffusion = cfg.augmenter_config.diffusion
    assert diffusion.steps == 7
    assert (diffusion.noise_max, diffusion.beta_fixed, diffusion.hidden) == (0.01, False, (64,))
    assert cfg.to_dict()["recdiff"]["diffusion"]["steps"] == 7  # recorded as a table
    again = _resolve(cfg.to_dict())  # what a resumed run reads back
    assert again.augmenter_config == cfg.augmenter_config
    preset = _resolve({"augmenter": "recdiff", "recommender": "gcn", "preset": "yelp",
                       "recdiff": {"diffusion": {"noise_max": 0.02}}})
    d = preset.augmenter_config.diffusion
    assert (d.steps, d.lr, d.noise_max) == (50, 1e-4, 0.02)  # preset and explicit, merged


def test_nested_config_errors_name_the_dotted_key():
    def resolve(**section):
        return _resolve({"augmenter": "diffmm", "diffmm": section})

    with pytest.raises(ConfigError, match="diffmm.diffusion.steps must be an integer"):
        resolve(diffusion={"steps": "five"})
    with pytest.raises(ConfigError, match=r"\[diffmm.diffusion\] steps must be >= 1"):
        resolve(diffusion={"steps": 0})
    with pytest.raises(ConfigError, match="did you mean diffmm.diffusion.steps"):
        resolve(diffusion={"step": 3})
    with pytest.raises(ConfigError, match="diffmm.diffusion must be a table"):
        resolve(diffusion=False)
    with pytest.raises(ConfigError, match="diffmm.dims; it is now diffmm.diffusion.hidden"):
        resolve(dims=[100])
    with pytest.raises(ConfigError, match="did you mean diffmm.diffusion.time_dim"):
        resolve(time_dim=4)
    assert parse_overrides(["diffmm.diffusion.steps=3"]) == {"diffmm": {"diffusion": {"steps": 3}}}
