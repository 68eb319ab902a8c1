"""The table readers: fast on good files, file:line errors on bad ones."""

import numpy as np
import pytest

from kgrec.data.tables import read_float_table, read_int_table, read_token_table
from kgrec.errors import DataError


def write(tmp_path, content, name="t.tsv"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_reads_tabs_spaces_crlf_and_blank_lines(tmp_path):
    path = write(tmp_path, "0\t1\r\n\n2  3\r\n   \n4\t 5")
    rows, lines = read_int_table(path, 2, return_lines=True)
    assert rows.dtype == np.int64
    assert rows.tolist() == [[0, 1], [2, 3], [4, 5]]
    assert lines.tolist() == [1, 3, 5]


@pytest.mark.parametrize("header, expected", [(True, [[2, 3]]), ("auto", [[2, 3]])])
def test_header_skipped(tmp_path, header, expected):
    path = write(tmp_path, "user\titem\n2\t3\n")
    assert read_int_table(path, 2, header=header).tolist() == expected


def test_auto_header_keeps_a_numeric_first_line(tmp_path):
    path = write(tmp_path, "1\t2\n3\t4\n")
    assert read_int_table(path, 2, header="auto").tolist() == [[1, 2], [3, 4]]


def test_min_cols_allows_unparsed_extra_columns(tmp_path):
    path = write(tmp_path, "userID\tartistID\tweight\n1\t2\t0.5\n3\t4\t7\tx\n")
    assert read_int_table(path, 2, header="auto", min_cols=3).tolist() == [[1, 2], [3, 4]]
    bad = write(tmp_path, "1 2 3\n4 5\n", "short.tsv")
    with pytest.raises(DataError, match=r"short\.tsv:2: expected at least 3 columns, found 2"):
        read_int_table(bad, 2, min_cols=3)


@pytest.mark.parametrize("content, line, message", [
    ("0\t1\n2\t3\t4\n", 2, "expected 2 columns, found 3"),
    ("0\t1\n\n2\n", 3, "expected 2 columns, found 1"),
    ("0\t1\n2\tx\n", 2, "column 2: 'x' is not an integer"),
    ("0\t1\n2\t1.5\n", 2, "column 2: '1.5' is not an integer"),
    ("0\t1\n2\t3\n-1\t4\n", 3, "column 1: negative id -1"),
    ("0\t1\n2\t99999999999999999999999\n", 2, "is not an integer"),
])
def test_bad_lines_name_file_and_line(tmp_path, content, line, message):
    path = write(tmp_path, content)
    with pytest.raises(DataError) as exc:
        read_int_table(path, 2)
    assert str(exc.value).startswith(f"{path}:{line}: ")
    assert message in str(exc.value)
    assert exc.value.line == line and exc.value.path == str(path)


def test_undecodable_bytes_name_the_line(tmp_path):
    path = write(tmp_path, b"0\t1\n2\t3\n\xff\xfe\t4\n")
    with pytest.raises(DataError, match=r":3: not UTF-8"):
        read_int_table(path, 2)


@pytest.mark.parametrize("content, header", [("", False), ("\n \n", False), ("userID\tartistID\n", "auto"),
                                             ("a b\n", True)])
def test_empty_or_header_only_is_no_rows(tmp_path, content, header):
    path = write(tmp_path, content)
    with pytest.raises(DataError, match="no rows"):
        read_int_table(path, 2, header=header)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.tsv: file not found"):
        read_int_table(tmp_path / "nope.tsv", 2)


def test_float_table_and_non_finite(tmp_path):
    path = write(tmp_path, "1 2 0.5\n3 4 -4\n")
    assert read_float_table(path, 3).tolist() == [[1, 2, 0.5], [3, 4, -4]]
    with pytest.raises(DataError, match=r":2: column 3: 'nan' is not finite"):
        read_float_table(write(tmp_path, "1 2 3\n1 2 nan\n"), 3)


def test_token_table_columns_of_str(tmp_path):
    path = write(tmp_path, "h\tr\tt\n2086\tmusic.artist.origin\t3846\r\n7\tfilm.actor.film\tü\n")
    heads, relations, tails = read_token_table(path, 3, header=True)
    assert heads.tolist() == ["2086", "7"]
    assert relations.tolist() == ["music.artist.origin", "film.actor.film"]
    assert tails.tolist() == ["3846", "ü"]
    with pytest.raises(DataError, match=r":3: expected 3 columns, found 2"):
        read_token_table(write(tmp_path, "a b c\nd e f\ng h\n"), 3)


def test_large_table_parses_exactly(tmp_path):
    n = 50_000
    rows = np.random.default_rng(0).integers(0, 10_000, (n, 2))
    path = tmp_path / "big.tsv"
    path.write_text("\n".join(f"{a}\t{b}" for a, b in rows.tolist()) + "\n")
    assert np.array_equal(read_int_table(path, 2), rows)
