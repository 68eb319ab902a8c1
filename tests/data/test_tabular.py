"""The tabular format: CSV / TSV / any separator / Parquet with a column mapping, side tables,
and one-line errors naming the file and line. Every file is written by the test itself."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from kgrec.config import DataConfig, SplitConfig, TableSpec
from kgrec.data import load_dataset
from kgrec.data.checks import DataRepairWarning
from kgrec.data.formats import FORMATS, detect_format
from kgrec.errors import ConfigError, DataError

MOVIELENS = ("userId,movieId,rating,timestamp\n"
             "2,10,4.0,100\n2,2,3.5,200\n2,31,5,300\n10,10,5,300\n10,2,2,310\n10,31,4,320\n"
             "1,10,1,5\n1,2,4.5,6\n1,31,4,7\n1,47,4,8\n")


def write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


def pairs(data) -> set[tuple]:
    """Every (raw user, raw item) pair of the three splits."""
    out = set()
    for part in (data.train, data.valid, data.test):
        out |= set(zip(data.user_ids[part.users].tolist(), data.item_ids[part.items].tolist()))
    return out


def load(path, fmt="auto", split=None, **data):
    return load_dataset(str(path), fmt, split or SplitConfig(), DataConfig(**data))


def test_a_movielens_csv_loads_with_detected_columns_and_numeric_ids(tmp_path):
    data = load(write(tmp_path, "ratings.csv", MOVIELENS))
    assert detect_format(tmp_path / "ratings.csv") is FORMATS["tabular"]
    assert data.user_ids.tolist() == [1, 2, 10]            # numeric order, not "1" < "10" < "2"
    assert data.item_ids.tolist() == [2, 10, 31, 47]
    assert len(pairs(data)) == 10 and (10, 31) in pairs(data)
    assert data.split["tabular"]["columns"] == {"user": "userId", "item": "movieId",
                                                "rating": "rating", "time": "timestamp"}
    assert data.split["filters"][0]["filter"] == "dedup"


def test_explicit_mapping_names_or_positions(tmp_path):
    text = "who\twhat\twhen\n" + "".join(f"u{k % 3}\ti{k % 5}\t{k}\n" for k in range(30))
    path = write(tmp_path, "log.tsv", text)
    by_name = load(path, user="who", item="what", time="when", split=SplitConfig(method="temporal"))
    by_position = load(path, user=1, item=2, time=3, split=SplitConfig(method="temporal"))
    assert by_name.split["sha256"] == by_position.split["sha256"]
    assert by_name.user_ids.tolist() == ["u0", "u1", "u2"]


@pytest.mark.parametrize("sep,text_sep", [(",", ","), (";", ";"), ("|", "|"), ("::", "::"),
                                           ("tab", "\t"), ("whitespace", "  \t ")])
def test_any_separator_given_or_sniffed(tmp_path, sep, text_sep):
    rows = [["1", "10", "4"], ["1", "11", "3"], ["2", "10", "5"], ["2", "12", "1"], ["3", "11", "2"]]
    text = "".join(text_sep.join(r) + "\n" for r in rows)
    path = write(tmp_path, "ratings.dat", text)
    given = load(path, "tabular", sep=sep, names=("user", "item", "rating"))
    sniffed = load(path, "tabular", names=("user", "item", "rating"))
    want = {(1, 10), (1, 11), (2, 10), (2, 12), (3, 11)}
    assert pairs(given) == pairs(sniffed) == want
    assert "header" not in str(given.split)


def test_quoted_fields_hold_the_separator_and_a_headerless_file_takes_positions(tmp_path):
    text = '"a,1",x\n"a,1",y\nb,"x"\nb,z\n'
    data = load(write(tmp_path, "q.csv", text), header=False)
    assert pairs(data) == {("a,1", "x"), ("a,1", "y"), ("b", "x"), ("b", "z")}
    unquoted = load(write(tmp_path, "u.csv", "a'b,x\nc,y\n"), header=False, quote="none")
    assert ("a'b", "x") in pairs(unquoted)


def test_latin1_needs_its_encoding_and_says_so(tmp_path):
    path = write(tmp_path, "latin.csv", "user,item\nJos\xe9,a\nJos\xe9,b\nAnn,a\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv:2: not utf-8 text \(byte 0xe9\); set data\.encoding"):
        load(path)
    data = load(path, encoding="latin-1")
    assert ("José", "b") in pairs(data)


def test_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"user": ["a", "a", "b", "b", "c"], "item": [3, 1, 1, 2, 3],
                      "ts": pa.array([5, 6, 7, 8, 9], pa.int64())})
    pq.write_table(table, tmp_path / "inter.parquet")
    data = load(tmp_path / "inter.parquet", time="ts", split=SplitConfig(method="leave_one_out"))
    assert data.item_ids.tolist() == [1, 2, 3] and len(pairs(data)) == 5
    with pytest.raises(DataError, match=r"inter\.parquet: data\.time = 'when' names no column "
                                        r"\(columns found: user, item, ts\)"):
        load(tmp_path / "inter.parquet", time="when")


def test_dates_as_times(tmp_path):
    text = "user,item,date\n1,1,2020-01-01\n1,2,2020-02-01\n2,1,2020-03-01\n2,2,2021-01-01\n"
    data = load(write(tmp_path, "d.csv", text), split=SplitConfig(method="temporal", test_from="2020-06-01",
                                                                  valid_ratio=0.0))
    assert pairs(data) >= {(2, 2)} and len(data.test) == 1
    assert data.split["test_from"] == float(np.datetime64("2020-06-01", "s").astype(np.int64))


def test_a_comma_separated_recbole_inter_file_works(tmp_path):
    root = tmp_path / "toy"
    write(root, "toy.inter", "user_id:token,item_id:token,timestamp:float\n"
                             "u1,i1,1\nu1,i2,2\nu1,i3,3\nu2,i1,4\nu2,i3,5\nu2,i2,6\n")
    assert detect_format(root) is FORMATS["tabular"]
    data = load(root, split=SplitConfig(method="leave_one_out"))
    assert data.split["tabular"]["columns"]["time"] == "timestamp" and len(data.test) == 2
    # forced through the RecBole reader, which needs tabs, the message says what to use
    with pytest.raises(DataError, match="toy.inter:1: is not tab-separated.*--format tabular"):
        load(root, "recbole")


def test_side_tables_kg_links_social_features(tmp_path):
    write(tmp_path, "inter.csv", "user,item\nann,b\nann,a\nbob,a\nbob,c\nzoe,c\nzoe,b\n")
    write(tmp_path, "kg.tsv", "E_b\tgenre\tpop\nE_a\tgenre\trock\nrock\tsub\tpop\nE_b\tgenre\tpop\n")
    write(tmp_path, "links.csv", "item,entity\nb,E_b\na,E_a\nghost,E_x\n")
    write(tmp_path, "trust.csv", "src,dst\nann,bob\nzoe,ann\nann,nobody\nbob,bob\n")
    np.save(tmp_path / "vis.npy", np.arange(12, dtype=np.float32).reshape(4, 3))  # unused: ids are text
    write(tmp_path, "text.csv", "item,f1,f2\na,1,2\nb,3,4\nc,5,6\n")
    cfg = dict(kg=TableSpec(path="kg.tsv", header=False), links=TableSpec(path="links.csv"),
               social=TableSpec(path="trust.csv"), features={"text": "text.csv"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load(tmp_path / "inter.csv", **cfg)
    said = " ".join(str(w.message) for w in caught)
    assert "duplicate triples" in said and "links of items without interactions" in said
    assert "self-loops" in said and "ties to or from users without interactions" in said
    kg = data.kg
    # items a, b, c: a -> E_a (entity 0), b -> E_b (entity 1), c has none
    assert kg.item_entity.tolist() == [0, 1, -1]
    assert kg.relation_names == ("genre", "sub") and len(kg) == 3 and kg.num_entities == 4
    assert sorted(zip(data.user_ids[data.social.src], data.user_ids[data.social.dst])) == \
        [("ann", "bob"), ("zoe", "ann")]
    assert data.modalities["text"].tolist() == [[1, 2], [3, 4], [5, 6]]
    # require kg: item c's interactions go, and with them user zoe's one of them
    required = load(tmp_path / "inter.csv", require=("kg",), **cfg)
    assert required.item_ids.tolist() == ["a", "b"]
    record = required.split["filters"][-1]
    assert record["filter"] == "require" and record["removed"] == 2 and record["removed_items"] == 1


def test_a_kg_without_links_joins_items_to_entities_of_the_same_id(tmp_path):
    write(tmp_path, "inter.csv", "user,item\n1,7\n1,8\n2,7\n2,9\n")
    write(tmp_path, "kg.txt", "7 r 100\n9 r 7\n100 s 101\n")
    data = load(tmp_path / "inter.csv", kg=TableSpec(path="kg.txt"))
    assert data.kg.item_entity.tolist() == [0, -1, 1]  # items 7, 8, 9: 7 and 9 are entities
    assert data.kg.num_entities == 4


def test_npy_features_are_indexed_by_integer_item_id(tmp_path):
    write(tmp_path, "inter.csv", "user,item\n1,0\n1,2\n2,2\n2,3\n")
    np.save(tmp_path / "image.npy", np.arange(8, dtype=np.float16).reshape(4, 2))
    data = load(tmp_path / "inter.csv", features={"image": "image.npy"})
    assert data.modalities["image"].dtype == np.float32
    assert data.modalities["image"].tolist() == [[0, 1], [4, 5], [6, 7]]  # items 0, 2, 3
    np.save(tmp_path / "short.npy", np.zeros((3, 2)))
    with pytest.raises(DataError, match="1 items have no 'image' feature row.*require"):
        load(tmp_path / "inter.csv", features={"image": "short.npy"})
    dropped = load(tmp_path / "inter.csv", features={"image": "short.npy"}, require=("modalities",))
    assert dropped.item_ids.tolist() == [0, 2]


def test_the_datasets_own_split_by_column_or_files(tmp_path):
    text = "user,item,part\n" + "".join(f"{u},{i},{'test' if i == 4 else 'valid' if i == 3 else 'train'}\n"
                                        for u in range(3) for i in range(5))
    data = load(write(tmp_path, "s.csv", text), split_column="part")
    assert data.split["method"] == "given" and len(data.test) == 3 and len(data.valid) == 3
    assert set(data.item_ids[data.test.items].tolist()) == {4}
    write(tmp_path, "train.csv", "user,item\n1,1\n1,2\n1,3\n2,1\n2,2\n2,4\n")
    write(tmp_path, "test.csv", "user,item\n1,4\n2,3\n2,1\n")  # (2, 1) is also a training pair
    files = load(tmp_path / "train.csv", test_file="test.csv", split=SplitConfig(valid_ratio=0.3))
    assert files.split["method"] == "given+carved_validation" and len(files.test) == 2
    assert files.split["filters"][-1]["filter"] == "overlap"
    with pytest.raises(DataError, match=r"s\.csv:3: split label 'holdout'"):
        load(write(tmp_path, "s.csv", "user,item,part\n1,1,train\n1,2,holdout\n"), split_column="part")


@pytest.mark.parametrize("name,text,settings,where,needle", [
    ("short.csv", "userId,movieId,rating\n1,10,4\n\n1,11\n", {}, ":4:", "expected 3 fields"),
    ("cols.csv", "uid,mid\n1,2\n", {"user": "userId"}, ":1:",
     "data.user = 'userId' names no column (columns found: uid, mid)"),
    ("nocol.csv", "a,b\n1,2\n", {}, ":1:", "no user column (columns found: a, b); set data.user"),
    ("rating.csv", "user,item,rating\n1,2,4\n1,3,x\n", {"rating_min": 3}, ":3:",
     "rating 'x' in column 'rating' is not a number"),
    ("empty.csv", "user,item\n1,2\n,3\n", {}, ":3:", "empty user in column 'user'"),
    ("time.csv", "user,item,timestamp\n1,2,5\n1,3,soon\n", {}, ":3:", "'soon'"),
    ("ws.txt", "1 2 3\n4 5\n", {"sep": "whitespace"}, ":2:", "expected 3 whitespace-separated fields"),
    ("floor.csv", "user,item,rating\n1,2,1\n2,3,1\n", {"rating_min": 4}, ":",
     "no interactions left after the rating threshold filter (>= 4)"),
    ("core.csv", "user,item\n1,2\n2,3\n", {"user_core": 2}, ":", "after the k-core filter"),
])
def test_bad_input_is_one_line_with_file_and_line(tmp_path, name, text, settings, where, needle):
    path = write(tmp_path, name, text)
    with pytest.raises(DataError) as info:
        load(path, **settings)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}{where}"), message
    assert needle in message


def test_settings_that_need_data_the_file_lacks(tmp_path):
    path = write(tmp_path, "r.csv", "user,item\n1,2\n1,3\n2,2\n")
    with pytest.raises(ConfigError, match="data.rating_min = 3 needs ratings"):
        load(path, rating_min=3)
    with pytest.raises(ConfigError, match="split.method = 'temporal' needs interaction times"):
        load(path, split=SplitConfig(method="temporal"))
    with pytest.raises(ConfigError, match="data.require lists kg"):
        load(path, require=("kg",))


def test_lastfm_with_kg_links_and_friends_matches_the_kgcn_numbers(shared_data):
    root = shared_data / "lastfm-hetrec"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRepairWarning)
        data = load(root / "user_artists.dat", user="userID", item="artistID",
                    kg=TableSpec(path="kg.txt"), links=TableSpec(path="item_index2entity_id.txt"),
                    social=TableSpec(path="user_friends.dat"), require=("kg",))
    # the KGCN paper's Last.FM: 1,872 users, 3,846 items, 21,173 interactions (shared/data/README)
    assert (data.num_users, data.num_items) == (1872, 3846)
    assert len(data.train) + len(data.valid) + len(data.test) == 21173
    assert (data.kg.num_entities, data.kg.num_relations, len(data.kg)) == (9366, 60, 15518)
    assert data.kg.item_entity.tolist() == list(range(3846))  # linked items are the first entities
    assert len(data.social) > 20000


def test_filmtrust_ratings_as_a_whitespace_table_with_a_rating_threshold(shared_data):
    root = shared_data / "filmtrust"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRepairWarning)
        data = load(root / "ratings.txt", "tabular", names=("user", "item", "rating"), rating_min=3.5,
                    user_core=5, item_core=5, social=TableSpec(path="trust.txt"))
    names = [f["filter"] for f in data.split["filters"]]
    assert names == ["dedup", "rating threshold", "k-core"]
    degrees = np.bincount(np.concatenate([data.train.users, data.valid.users, data.test.users]))
    assert degrees.min() >= 5 and data.social is not None
