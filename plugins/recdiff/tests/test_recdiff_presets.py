"""Each recdiff preset, resolved with the ``gcn`` backbone, equals the reference's run.

The tables below are written from HKUDS/RecDiff at c73dc99858cd: ``SCRIPTS`` holds every flag
that ``scripts/run_<dataset>.sh`` passes (line 1-2 of each; ``--s_layer`` is argparse's
prefix abbreviation of ``--s_layers``), ``PARAM_DEFAULTS`` every ``param.py`` default those
scripts rely on (with its line), ``HARD_CODED`` what ``main.py`` / ``models/`` fix without a
flag. ``KGREC`` says where each reference setting lives in kgrec's resolved config. Flags
that only name files or devices (``--dataset``, ``--model_dir``, ``--cuda``, ``--save_name``,
``--checkpoint``, ``--desc``, ``--num_workers``) have no kgrec counterpart and are listed in
``NOT_SETTINGS``; the seed (``param.py:11``, 2023) is not mapped: random streams do not
correspond across implementations.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

import kgrec
from kgrec_recdiff import RecDiff

SCRIPTS: dict[str, dict[str, Any]] = {
    # scripts/run_ciao.sh
    "ciao": {"n_hid": 64, "n_layers": 2, "s_layers": 2, "lr": 5e-3, "difflr": 1e-3, "reg": 1e-2,
             "batch_size": 2048, "test_batch_size": 1024, "emb_size": 16, "steps": 20,
             "noise_scale": 1.0},
    # scripts/run_epinions.sh
    "epinions": {"n_hid": 64, "n_layers": 2, "s_layers": 2, "lr": 1e-3, "difflr": 1e-3,
                 "reg": 1e-4, "batch_size": 4096, "test_batch_size": 1024, "emb_size": 16,
                 "steps": 200, "noise_scale": 0.1},
    # scripts/run_yelp.sh
    "yelp": {"n_hid": 64, "n_layers": 2, "s_layers": 2, "lr": 1e-3, "difflr": 1e-4, "reg": 5e-3,
             "batch_size": 4096, "test_batch_size": 2048, "emb_size": 16, "steps": 50,
             "noise_scale": 0.1},
}

PARAM_DEFAULTS: dict[str, Any] = {
    "weight": True,                  # param.py:17
    "decay": 0.985,                  # param.py:28
    "decay_step": 1,                 # param.py:29
    "n_epoch": 150,                  # param.py:30
    "patience": 20,                  # param.py:32 (counted in test evaluations, main.py:87-92)
    "topk": 20,                      # param.py:35
    "dims": 64,                      # param.py:47 (SDNet: n_hid -> [dims] -> n_hid, main.py:33-35)
    "norm": True,                    # param.py:48
    "noise_schedule": "linear-var",  # param.py:53
    "noise_min": 1e-4,               # param.py:55
    "noise_max": 0.01,               # param.py:56
    "sampling_noise": False,         # param.py:57
    "sampling_steps": 0,             # param.py:58
    "reweight": True,                # param.py:59
}

HARD_CODED: dict[str, Any] = {
    "eval_every": 5,                 # main.py:81 (if self.epoch % 5 == 0: test)
    "sdnet_dropout": 0.5,            # models/model.py:181 (SDNet default; param.py's --dropout is never read)
    "leaky_relu_slope": 0.5,         # models/model.py:128 (both encoders)
    "separate_ui_weights": True,     # models/model.py:76-77 (u_w for users, v_w for items)
    "reg_on_scored_embeddings": True,  # main.py:136-140 (user + pred_xstart, propagated items)
    "beta_fixed": False,             # models/diffusion_process.py:39, 249-255 (no beta_0 = 1e-4)
    "social_as_stored": True,        # DataHander.py:64 (dgl.from_scipy(trust): trustor -> trustee)
}

NOT_SETTINGS = ("dataset", "model_dir", "cuda", "save_name", "checkpoint", "desc", "num_workers",
                "seed", "time_type", "dropout")
"""Reference flags with no kgrec setting: paths, devices, the seed (see the module docstring),
``time_type`` (``cat`` is the only one SDNet implements; kgrec's Denoiser concatenates) and
``dropout`` (never read: SDNet's own 0.5 applies, see ``HARD_CODED``)."""


def _get(config: kgrec.RunConfig, path: str) -> Any:
    section, _, rest = path.partition(".")
    node: Any = {"train": config.train, "eval": config.eval, "gcn": config.recommender_config,
                 "recdiff": config.augmenter_config}[section]
    for part in rest.split("."):
        node = getattr(node, part)
    return node


KGREC: dict[str, tuple[str, Any]] = {
    # reference name: (kgrec key, how the reference value maps onto it)
    "n_hid": ("gcn.dim", None),
    "n_layers": ("gcn.layers", None),
    "s_layers": ("recdiff.s_layers", None),
    "lr": ("train.lr", None),
    "difflr": ("recdiff.diffusion.lr", None),
    "reg": ("gcn.reg", None),
    "batch_size": ("train.batch_size", None),
    "test_batch_size": ("train.eval_batch_size", None),
    "emb_size": ("recdiff.diffusion.time_dim", None),
    "steps": ("recdiff.diffusion.steps", None),
    "noise_scale": ("recdiff.diffusion.noise_scale", None),
    "weight": ("gcn.weight", None),
    "decay": ("train.lr_decay", None),
    "n_epoch": ("train.epochs", None),
    "patience": ("train.patience", None),
    "dims": ("recdiff.diffusion.hidden", lambda v: (v,)),
    "norm": ("recdiff.diffusion.normalize_input", None),
    "noise_schedule": ("recdiff.diffusion.schedule", None),
    "noise_min": ("recdiff.diffusion.noise_min", None),
    "noise_max": ("recdiff.diffusion.noise_max", None),
    "sampling_noise": ("recdiff.diffusion.sampling_noise", None),
    "sampling_steps": ("recdiff.diffusion.sampling_steps", None),
    "reweight": ("recdiff.diffusion.reweight", None),
    "eval_every": ("train.eval_every", None),
    "sdnet_dropout": ("recdiff.diffusion.dropout", None),
    "separate_ui_weights": ("gcn.separate_weights", None),
    "reg_on_scored_embeddings": ("gcn.reg_on", lambda v: "output" if v else "input"),
    "beta_fixed": ("recdiff.diffusion.beta_fixed", None),
    "social_as_stored": ("recdiff.social_direction", lambda v: "as_given" if v else "both"),
}
"""Settings that need more than one key are checked in :func:`mismatches` itself:
``weight`` also sets ``recdiff.weight``, ``leaky_relu_slope`` both encoders' slopes,
``topk`` must be a reported cut-off and the selection metric's K, and ``decay_step`` 1 is
what kgrec's per-epoch StepLR always does."""


def reference_settings(dataset: str) -> dict[str, Any]:
    return {**PARAM_DEFAULTS, **HARD_CODED, **SCRIPTS[dataset]}


def mismatches(dataset: str, presets: dict[str, Any] | None = None) -> list[str]:
    """Every reference setting whose kgrec value (preset + defaults, backbone ``gcn``) differs."""
    original = RecDiff.presets
    if presets is not None:  # lets the test below check that a wrong preset is caught
        RecDiff.presets = presets
    try:
        config = kgrec.resolve_config({"augmenter": "recdiff", "recommender": "gcn",
                                       "preset": dataset})
    finally:
        RecDiff.presets = original
    ref = reference_settings(dataset)
    out = []
    for name, value in ref.items():
        if name in KGREC:
            key, convert = KGREC[name]
            want = convert(value) if convert else value
            got = _get(config, key)
            if got != want or type(got) is not type(want):
                out.append(f"{dataset}: {name}={value!r} -> {key} should be {want!r}, is {got!r}")
    checks = {
        "weight -> recdiff.weight": config.augmenter_config.weight == ref["weight"],
        "leaky_relu_slope -> gcn.negative_slope":
            config.recommender_config.negative_slope == ref["leaky_relu_slope"],
        "leaky_relu_slope -> recdiff.negative_slope":
            config.augmenter_config.negative_slope == ref["leaky_relu_slope"],
        "topk -> eval.topk": ref["topk"] in config.eval.topk,
        "topk -> train.select_metric": config.train.select_metric.endswith(f"@{ref['topk']}"),
        "decay_step 1 (kgrec decays once per epoch)": ref["decay_step"] == 1,
        "mode diffusion": config.augmenter_config.mode == "diffusion",
    }
    out += [f"{dataset}: {what}" for what, ok in checks.items() if not ok]
    return out


@pytest.mark.parametrize("dataset", sorted(SCRIPTS))
def test_preset_equals_the_reference_script_and_defaults(dataset):
    assert mismatches(dataset) == []


def test_every_reference_setting_is_checked_and_every_preset_has_a_script():
    assert set(RecDiff.presets) == set(SCRIPTS)
    multi = {"weight", "leaky_relu_slope", "topk", "decay_step"}
    for dataset in SCRIPTS:
        unmapped = set(reference_settings(dataset)) - set(KGREC) - multi
        assert unmapped == set(), unmapped
        assert not set(reference_settings(dataset)) & set(NOT_SETTINGS)


def _explicit(preset: dict[str, Any], key: str) -> bool:
    """Whether the preset itself sets ``key`` (``gcn.layers``, ``recdiff.diffusion.steps``)."""
    section, *path = key.split(".")
    tables = {"gcn": [preset.get("gcn", {}), preset.get("recommender", {})],
              "recdiff": [preset.get("augmenter", {})]}.get(section, [preset.get(section, {})])
    for table in tables:
        node: Any = table
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return True
    return False


@pytest.mark.parametrize("dataset", sorted(SCRIPTS))
def test_every_flag_the_script_passes_is_set_by_the_preset_itself(dataset):
    """Not left to a default that could change: the preset says what the script says."""
    preset = RecDiff.presets[dataset]
    assert [name for name in SCRIPTS[dataset] if not _explicit(preset, KGREC[name][0])] == []


def test_a_wrong_preset_value_is_caught():
    """The check can fail: the Ciao noise scale on Epinions, or a lost train setting."""
    wrong = {name: {section: dict(values) for section, values in preset.items()}
             for name, preset in RecDiff.presets.items()}
    wrong["epinions"]["augmenter"]["diffusion"] = {**wrong["epinions"]["augmenter"]["diffusion"],
                                                   "noise_scale": 1.0}
    del wrong["yelp"]["train"]["lr_decay"]
    wrong["ciao"]["augmenter"]["social_direction"] = "both"
    assert mismatches("epinions", wrong) == [
        "epinions: noise_scale=0.1 -> recdiff.diffusion.noise_scale should be 0.1, is 1.0"]
    assert mismatches("yelp", wrong) == ["yelp: decay=0.985 -> train.lr_decay should be 0.985, is 1.0"]
    assert mismatches("ciao", wrong) == [
        "ciao: social_as_stored=True -> recdiff.social_direction should be 'as_given', is 'both'"]


def _script_flags(text: str) -> dict[str, str]:
    words = shlex.split(text.replace("\\\n", " "))
    words = words[words.index("main.py") + 1:]
    flags = {}
    for flag, value in zip(words[::2], words[1::2]):
        name = flag.lstrip("-")
        flags["s_layers" if name == "s_layer" else name] = value
    return flags


REFERENCE_REPO = Path(os.environ.get("KGREC_RECDIFF_REPO", "/work/.mirror/HKUDS+RecDiff/repo"))


@pytest.mark.skipif(not REFERENCE_REPO.exists(), reason="no copy of HKUDS/RecDiff here "
                    "(set KGREC_RECDIFF_REPO to a clone or bare mirror)")
@pytest.mark.parametrize("dataset", sorted(SCRIPTS))
def test_the_table_is_what_the_script_passes(dataset):
    """Where a copy of the reference is at hand, the table above is re-read from its script."""
    try:
        text = subprocess.run(["git", "--git-dir", str(REFERENCE_REPO), "show",
                               f"HEAD:scripts/run_{dataset}.sh"], capture_output=True, text=True,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot read the script from {REFERENCE_REPO}: {exc}")
    flags = _script_flags(text)
    assert set(flags) - {"dataset", "model_dir"} == set(SCRIPTS[dataset])
    for name, value in SCRIPTS[dataset].items():
        parsed = float(flags[name]) if isinstance(value, float) else int(flags[name])
        assert parsed == value, name
