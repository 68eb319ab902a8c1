"""RecBole atomic files: fields by header name, string tokens to ids, KG links, social ties."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from kgrec.data.checks import DataRepairWarning
from kgrec.data.formats import detect_format
from kgrec.data.formats.recbole import FORMAT, load_recbole
from kgrec.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "datasets" / "sample-recbole"


def _sample_kgrec():
    spec = importlib.util.spec_from_file_location("make_samples", REPO / "datasets" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sample_kgrec()


def write(tmp_path, name="toy", **files):
    root = tmp_path / name
    root.mkdir(exist_ok=True)
    for suffix, text in files.items():
        (root / f"{name}.{suffix}").write_text(text)
    return root


INTER = ("item_id:token\tuser_id:token\ttimestamp:float\n"
         "b\tzoe\t1.0\n" "a\tzoe\t2.0\n" "c\tann\t3.0\n" "a\tann\t4.0\n" "b\tann\t5.0\n" "a\tbob\t6.0\n"
         "c\tbob\t7\n")


def test_sample_matches_the_data_it_was_made_from():
    data = load_recbole(SAMPLE)
    truth = _sample_kgrec()
    # ids are sorted string tokens: map them back to the generator's integers
    users = np.array(sorted(f"u{u}" for u in range(truth.num_users)))
    items = np.array(sorted(f"i{i}" for i in range(truth.num_items)))
    back_u = np.array([int(t[1:]) for t in users])
    back_i = np.array([int(t[1:]) for t in items])
    parts = (data.train, data.valid, data.test)
    got = set(zip(back_u[np.concatenate([p.users for p in parts])].tolist(),
                  back_i[np.concatenate([p.items for p in parts])].tolist()))
    want = set(zip(*(np.concatenate([getattr(p, c) for p in (truth.train, truth.valid, truth.test)]).tolist()
                     for c in ("users", "items"))))
    assert got == want and (data.num_users, data.num_items) == (truth.num_users, truth.num_items)
    kg = data.kg
    # every item is linked, so item i is entity i; entity i is then the generator's entity back_i[i]
    assert kg.item_entity.tolist() == list(range(data.num_items))
    assert (kg.num_entities, kg.num_relations, len(kg)) == (truth.kg.num_entities, 3, len(truth.kg))
    item_triples = {(int(back_i[h]), kg.relation_names[r], int(back_i[t]) if t < data.num_items else None)
                    for h, r, t in zip(kg.heads, kg.relations, kg.tails) if h < data.num_items}
    want_triples = {(h, f"rel.{r}", t if t < truth.num_items else None)
                    for h, r, t in zip(truth.kg.heads, truth.kg.relations, truth.kg.tails)}
    assert item_triples == want_triples
    assert len(data.social) == len(truth.social)
    assert data.split["method"] == "per_user_random"
    assert detect_format(SAMPLE) is FORMAT and load_recbole(SAMPLE / "sample.inter").split == data.split


def test_tokens_map_to_sorted_ids_and_extra_columns_are_ignored(tmp_path):
    data = load_recbole(write(tmp_path, inter=INTER.replace("\n", "\r\n")))
    parts = (data.train, data.valid, data.test)
    got = set(zip(np.concatenate([p.users for p in parts]).tolist(),
                  np.concatenate([p.items for p in parts]).tolist()))
    # users ann bob zoe -> 0 1 2; items a b c -> 0 1 2
    assert got == {(2, 1), (2, 0), (0, 2), (0, 0), (0, 1), (1, 0), (1, 2)}
    assert data.kg is None and data.social is None and data.name == "toy"


def test_links_put_linked_entities_first_in_item_order(tmp_path):
    kg = "head_id:token\trelation_id:token\ttail_id:token\nE_b\tgenre\tpop\nE_a\tgenre\trock\nrock\tsub\tpop\n"
    link = "item_id:token\tentity_id:token\nb\tE_b\na\tE_a\nghost\tE_x\n"
    net = "source_id:token\ttarget_id:token\nzoe\tann\nann\tnobody\nbob\tbob\nzoe\tann\n"
    with pytest.warns(DataRepairWarning):
        data = load_recbole(write(tmp_path, inter=INTER, kg=kg, link=link, net=net))
    kg = data.kg
    assert kg.item_entity.tolist() == [0, 1, -1]  # a -> E_a, b -> E_b, c unlinked
    assert kg.num_entities == 4 and kg.relation_names == ("genre", "sub")  # E_a E_b pop rock
    triples = set(zip(kg.heads.tolist(), kg.relations.tolist(), kg.tails.tolist()))
    assert triples == {(1, 0, 2), (0, 0, 3), (3, 1, 2)}
    # zoe -> ann kept; unknown user, self-loop and duplicate dropped
    assert (data.social.src.tolist(), data.social.dst.tolist()) == ([2], [0])


@pytest.mark.parametrize("inter,message", [
    ("user:token\titem_id:token\nx\ty\n", r"toy\.inter:1: header has no user_id:token"),
    ("user_id:token\titem_id:token\nx\ty\n\nz\n", r"toy\.inter:4: expected 2 tab-separated fields, found 1"),
    ("user_id:token\titem_id:token\nx\t\n", r"toy\.inter:2: empty item_id"),
    ("", r"toy\.inter: empty file"),
])
def test_malformed_files_name_file_and_line(tmp_path, inter, message):
    with pytest.raises(DataError, match=message):
        load_recbole(write(tmp_path, inter=inter))


def test_detection(tmp_path):
    assert not FORMAT.detect(tmp_path)
    root = write(tmp_path, inter=INTER)
    assert FORMAT.detect(root)
    write(tmp_path, name="toy", **{"train.inter": INTER})  # two .inter files, one named like the dir
    assert FORMAT.detect(root)
