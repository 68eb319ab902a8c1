"""Every malformed dataset in ``cases.py`` gets a one-line error naming the file (and line) with
exit code 2, or its documented repair with a warning and exit 0, through the real CLI."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from kgrec.cli.main import main
from kgrec.data.formats import FORMATS

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("kgrec_bad_input_cases", HERE / "cases.py")
cases = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = cases  # dataclasses look their module up there
_spec.loader.exec_module(cases)
DOC = HERE.parents[1] / "docs" / "reliability.md"


def invoke(argv: list[str], capsys) -> tuple[int, str, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code
    return code, capsys.readouterr().err, [str(w.message) for w in caught]


def test_corpus_is_large_and_ids_are_unique():
    ids = [c.id for c in cases.CASES]
    assert len(ids) == len(set(ids))
    assert len([c for c in cases.CASES if c.fmt in FORMATS]) >= 25


@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.id)
def test_bad_input(case, tmp_path, capsys):
    if case.fmt not in FORMATS:
        pytest.skip(f"kgrec has no {case.fmt} format")
    root = tmp_path / case.id
    case.write(root)
    culprit = str(root / case.culprit) if case.culprit else str(root)
    argv = ["datasets", "info", str(root)] + (["--format", case.fmt] if case.force_format else [])
    code, err, warned = invoke(argv, capsys)
    if case.repair:
        assert code == 0, err
        assert any(culprit in w and case.needle in w for w in warned), warned
        # the repaired dataset trains
        code, err, _ = invoke(["run", "-r", "mf", "--dataset", str(root), "--epochs", "1", "--quiet",
                               "--backend", "torch", "--device", "cpu",
                               "--out", str(tmp_path / "run")], capsys)
        assert code == 0, err
        return
    assert code == 2, f"exit {code}; stderr: {err}"
    assert err.startswith("error: ") and err.strip().count("\n") == 0, err
    where = f"{culprit}:{case.line}:" if case.line is not None else f"{culprit}:"
    assert where in err, err
    assert case.needle in err, err


def test_warnings_reach_stderr_as_one_line_each(tmp_path):
    """The real process: exit 0, each repair a 'warning: path: ...' line on stderr."""
    case = next(c for c in cases.CASES if c.id == "kd-duplicate-rows")
    case.write(tmp_path / "d")
    out = subprocess.run([sys.executable, "-m", "kgrec.cli", "datasets", "info", str(tmp_path / "d")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert lines == [f"warning: {tmp_path / 'd' / 'train.tsv'}: dropped 1 duplicate interaction pairs"]


def test_every_case_is_documented():
    documented = set(re.findall(r"`([a-z]{2}-[a-z0-9-]+)`", DOC.read_text(encoding="utf-8")))
    missing = [c.id for c in cases.CASES if c.id not in documented]
    assert not missing, f"add these cases to {DOC.name}: {missing}"


@pytest.mark.parametrize("part,needle", [("valid", "empty validation split"), ("test", "empty test split")])
def test_run_refuses_an_empty_held_out_split(tmp_path, capsys, part, needle):
    """Loading accepts an empty valid.tsv / test.tsv (documented), but a run cannot select an
    epoch without validation pairs, nor report without test pairs: one line, exit 2."""
    cases.kgrec_dir(**{f"{part}.tsv": ""})(tmp_path / "d")
    code, err, _ = invoke(["run", "-r", "mf", "--dataset", str(tmp_path / "d"), "--epochs", "1",
                           "--quiet", "--backend", "torch", "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and needle in err and err.strip().count("\n") == 0, err
    assert not (tmp_path / "run").exists()
