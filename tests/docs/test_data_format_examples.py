"""The worked examples of docs/data-format.md ("Your own data") load as the guide says: every
`# file:` block is written as shown, every `# example:` config is resolved and loaded."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kgrec.config import load_toml
from kgrec.data import load_dataset
from kgrec.errors import DataError
from kgrec.experiment import resolve_config

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "data-format.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def blocks():
    files, examples = {}, {}
    for match in FENCE.finditer(GUIDE.read_text(encoding="utf-8")):
        body = match.group(2)
        first, _, rest = body.partition("\n")
        if first.startswith("# file: "):
            files[first[len("# file: "):].strip()] = rest
        elif first.startswith("# example: "):
            examples[first[len("# example: "):].strip()] = rest
    return files, examples


FILES, EXAMPLES = blocks()


def test_the_guide_has_its_examples():
    assert set(EXAMPLES) >= {"movielens", "latin1", "lastfm", "features", "given"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_loads(name, tmp_path, monkeypatch):
    config_file = tmp_path / f"{name}.toml"
    config_file.write_text(EXAMPLES[name], encoding="utf-8")
    raw = load_toml(config_file)
    encoding = raw.get("data", {}).get("encoding", "utf-8")
    folder = Path(raw["dataset"]).parts[0]
    for path, text in FILES.items():
        if Path(path).parts[0] == folder:
            target = tmp_path / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode(encoding))
    monkeypatch.chdir(tmp_path)
    config = resolve_config(raw)
    data = load_dataset(config.dataset, config.format, config.split, config.data)
    if name == "movielens":
        assert data.split["method"] == "leave_one_out"
        assert [f["filter"] for f in data.split["filters"]] == ["dedup", "rating threshold", "k-core"]
        assert 31 not in data.item_ids.tolist()
    elif name == "latin1":
        assert "José" in data.user_ids.tolist()
        utf8 = resolve_config(raw, {"data": {"encoding": "utf-8"}})
        with pytest.raises(DataError, match=r"ratings.txt:1: not utf-8 text \(byte 0xe9\)"):
            load_dataset(utf8.dataset, utf8.format, utf8.split, utf8.data)
    elif name == "lastfm":
        assert data.item_ids.tolist() == [51, 52, 53] and data.kg.item_entity.tolist() == [0, 1, 2]
        assert data.kg.relation_names == ("location.contains", "music.artist.genre", "music.artist.origin")
        assert len(data.social) == 3
    elif name == "features":
        assert data.modalities["text"].shape == (3, 3) and len(data.social) == 2
        assert len(data.test) == 3 and len(data.valid) == 3
    elif name == "given":
        assert data.split["method"] == "given+carved_validation" and len(data.test) == 2
