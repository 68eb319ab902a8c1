"""Pickles from the internet never run code: every pickle-based loader refuses a pickle whose
``__reduce__`` names a callable, and the side effect never happens. A truncated pickle, an
object ``.npy`` and a hostile checkpoint are one-line errors too."""

from __future__ import annotations

import inspect
import os
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from kgrec.data.formats import FORMATS
from kgrec.data.safe_pickle import safe_load
from kgrec.errors import DataError, KgrecError
from kgrec.train.checkpoint import load_checkpoint
from kgrec.testing import cli_output

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "datasets"


class RunsShell:
    """Unpickling this calls ``os.system`` (pickled as ``posix.system``)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class WritesFile:
    """Unpickling this opens ``marker`` for writing through ``builtins.open``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def hostile_payloads(marker: Path) -> dict[str, bytes]:
    inst = f"(S'touch {marker}'\nios\nsystem\n.".encode()  # protocol 0 INST opcode
    out = {f"system-p{proto}": pickle.dumps(RunsShell(marker), protocol=proto) for proto in (0, 2, 4, 5)}
    out["open-p4"] = pickle.dumps(WritesFile(marker), protocol=4)
    out["inst-p0"] = inst
    out["nested-in-dict"] = pickle.dumps({"train": sp.coo_matrix(np.eye(3)), "x": [RunsShell(marker)]})
    return out


def coo_bytes(users=(0, 1, 2, 0), items=(0, 1, 2, 2), shape=(3, 4)) -> bytes:
    matrix = sp.coo_matrix((np.ones(len(users), np.float32), (list(users), list(items))), shape=shape)
    return pickle.dumps(matrix, protocol=4)


# ----------------------------------------------------------------------------- per-format layouts
# Each builder writes a dataset directory whose one pickle (the payload) is given and whose other
# files are valid, so that a refusal can only come from the payload.


def diffkg_dir(root: Path, payload: bytes) -> Path:
    shutil.copytree(SAMPLES / "sample-diffkg", root)
    (root / "trnMat.pkl").write_bytes(payload)
    return root / "trnMat.pkl"


def diffmm_dir(root: Path, payload: bytes) -> Path:
    root.mkdir()
    (root / "trnMat.pkl").write_bytes(payload)
    (root / "tstMat.pkl").write_bytes(coo_bytes(users=(1, 2), items=(0, 0)))
    (root / "valMat.pkl").write_bytes(coo_bytes(users=(2, 0), items=(1, 3)))
    np.save(root / "image_feat.npy", np.ones((4, 2), np.float32))
    return root / "trnMat.pkl"


def recdiff_dir(root: Path, payload: bytes) -> Path:
    root.mkdir()
    (root / "dataset.pkl").write_bytes(payload)
    return root / "dataset.pkl"


BUILDERS = {"diffkg": diffkg_dir, "diffmm": diffmm_dir, "recdiff": recdiff_dir}


def pickle_formats() -> list[str]:
    """Registered formats whose loader module reads pickles (through safe_load, directly or via
    checks.pickled_interaction_matrix)."""
    found = []
    for name, fmt in FORMATS.items():
        source = inspect.getsource(inspect.getmodule(fmt.load))
        if re.search(r"\bsafe_load\b|\bpickled_interaction_matrix\b|\bpickle\b", source):
            found.append(name)
    return found


def test_every_pickle_format_has_a_hostile_case():
    missing = sorted(set(pickle_formats()) - set(BUILDERS))
    assert not missing, f"add a layout for {missing} to BUILDERS so its loader is tested"


def cli(capsys, *argv: str) -> tuple[int, str]:
    code, _, err = cli_output(capsys, *argv)
    return code, err


@pytest.mark.parametrize("payload", sorted(hostile_payloads(Path("/x"))))
def test_safe_load_refuses_code_and_nothing_runs(tmp_path, payload):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pkl"
    path.write_bytes(hostile_payloads(marker)[payload])
    with pytest.raises(DataError, match="refusing to load it") as exc:
        safe_load(path)
    assert str(path) in str(exc.value)
    assert not marker.exists()


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
@pytest.mark.parametrize("payload", ["system-p0", "system-p4", "open-p4", "inst-p0", "nested-in-dict"])
def test_every_pickle_format_refuses_a_hostile_pickle(tmp_path, capsys, fmt, payload):
    if fmt not in FORMATS:
        pytest.skip(f"format {fmt} is not registered")
    marker = tmp_path / "marker"
    bad = BUILDERS[fmt](tmp_path / "data", hostile_payloads(marker)[payload])
    code, err = cli(capsys, "datasets", "info", str(tmp_path / "data"), "--format", fmt)
    assert not marker.exists(), "the pickle ran code"
    assert code == 2
    assert err.strip().count("\n") == 0, err
    assert str(bad) in err and "refusing to load it" in err


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
def test_truncated_pickle_is_a_one_line_error(tmp_path, capsys, fmt):
    if fmt not in FORMATS:
        pytest.skip(f"format {fmt} is not registered")
    whole = (SAMPLES / "sample-recdiff" / "dataset.pkl").read_bytes() if fmt == "recdiff" else coo_bytes()
    bad = BUILDERS[fmt](tmp_path / "data", whole[: len(whole) // 2])
    code, err = cli(capsys, "datasets", "info", str(tmp_path / "data"), "--format", fmt)
    assert code == 2
    assert err.strip().count("\n") == 0, err
    assert str(bad) in err and "not a readable pickle" in err and "truncated" in err


@pytest.mark.parametrize("cut", [0, 1, 10, 100])
def test_safe_load_on_truncated_and_garbage_bytes(tmp_path, cut):
    path = tmp_path / "m.pkl"
    path.write_bytes(coo_bytes()[:cut])
    with pytest.raises(DataError, match="not a readable pickle") as exc:
        safe_load(path)
    assert "\n" not in str(exc.value)
    path.write_bytes(os.urandom(64))
    with pytest.raises(DataError) as exc:
        safe_load(path)
    assert "\n" not in str(exc.value)


def test_object_npy_features_are_refused_without_running(tmp_path, capsys):
    if "diffmm" not in FORMATS:
        pytest.skip("format diffmm is not registered")
    marker = tmp_path / "marker"
    diffmm_dir(tmp_path / "data", coo_bytes())
    feats = np.empty((4, 1), dtype=object)
    feats[0, 0] = RunsShell(marker)
    np.save(tmp_path / "data" / "image_feat.npy", feats, allow_pickle=True)
    code, err = cli(capsys, "datasets", "info", str(tmp_path / "data"), "--format", "diffmm")
    assert not marker.exists()
    assert code == 2 and "image_feat.npy" in err and err.strip().count("\n") == 0


def test_hostile_checkpoint_is_refused_without_running(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "best.pt"
    torch.save({"model": RunsShell(marker)}, path)
    with pytest.raises(KgrecError, match="not a loadable kgrec checkpoint") as exc:
        load_checkpoint(path, torch.device("cpu"))
    assert "\n" not in str(exc.value)
    assert not marker.exists()


def test_resume_from_a_hostile_epoch_checkpoint_runs_nothing(tmp_path, capsys):
    run_dir = tmp_path / "run"
    code, _ = cli(capsys, "run", "-r", "mf", "--dataset", "synthetic?num_users=60&num_items=40",
                  "--epochs", "1", "--quiet", "--backend", "torch", "--out", str(run_dir))
    assert code == 0
    (run_dir / "metrics.json").unlink()
    marker = tmp_path / "marker"
    (run_dir / "checkpoints").mkdir(exist_ok=True)  # a finished run removed its own
    torch.save({"format": 1, "rng": RunsShell(marker)}, run_dir / "checkpoints" / "epoch-0001.pt")
    code, err = cli(capsys, "run", "--resume", str(run_dir), "--quiet")
    assert not marker.exists()
    assert code == 2 and "epoch-0001.pt" in err and err.strip().count("\n") == 0


UNSAFE = [
    (re.compile(r"\bpickle\.loads?\(|\bpickle\.Unpickler\b|\bcPickle\b|\bdill\b|\bjoblib\.load\b|"
                r"read_pickle\("), "reads a pickle without kgrec.data.safe_pickle"),
    (re.compile(r"allow_pickle\s*=\s*True"), "np.load with allow_pickle=True"),
    (re.compile(r"torch\.load\((?![^)]*weights_only\s*=\s*True)"), "torch.load without weights_only=True"),
]


def test_no_unsafe_deserialisation_in_kgrec_or_plugins():
    """The one unpickler is kgrec/data/safe_pickle.py; nothing else may load pickled code."""
    offenders = []
    roots = [REPO / "kgrec", *sorted((REPO / "plugins").glob("*/src"))]
    for root in roots:
        for path in root.rglob("*.py"):
            if path == REPO / "kgrec" / "data" / "safe_pickle.py":
                continue
            text = path.read_text(encoding="utf-8")
            for pattern, why in UNSAFE:
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    offenders.append(f"{path.relative_to(REPO)}:{line}: {why}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("fmt", ["diffkg", "diffmm"])
def test_a_matrix_declaring_an_absurd_shape_is_refused_before_allocation(tmp_path, capsys, fmt):
    # Three interactions in a 10^12 x 4 matrix: a few bytes of pickle that would otherwise size
    # per-user arrays and the embedding table at 10^12 rows.
    huge = coo_bytes(users=(0, 1, 2), items=(0, 1, 2), shape=(10**12, 4))
    bad = BUILDERS[fmt](tmp_path / "data", huge)
    if fmt == "diffkg":  # its test matrix must match the train shape, or that check fires first
        (tmp_path / "data" / "tstMat.pkl").write_bytes(
            coo_bytes(users=(1, 2), items=(0, 0), shape=(10**12, 4)))
    code, err = cli(capsys, "datasets", "info", str(tmp_path / "data"), "--format", fmt)
    assert code == 2
    assert err.strip().count("\n") == 0, err
    assert str(bad) in err and "1,000,000,000,000 users" in err


def test_plausible_counts_bound():
    from kgrec.data.checks import IMPLAUSIBLE_FLOOR, IMPLAUSIBLE_RATIO, check_plausible_counts

    check_plausible_counts("f", IMPLAUSIBLE_FLOOR, 10, 1)  # small datasets are never refused
    check_plausible_counts("f", 10, IMPLAUSIBLE_RATIO * 20_000, 20_000)
    with pytest.raises(DataError, match="items"):
        check_plausible_counts("f", 10, IMPLAUSIBLE_RATIO * 20_000 + 1, 20_000)
