"""Tabular interactions: CSV, TSV (any separator, quoting, encoding) and Parquet files, with
the columns named by ``data.*`` settings (docs/data-format.md, "Tabular files").

Read with pyarrow: its CSV reader is multi-threaded, decodes any Python codec (``latin-1``)
while parsing, reports the line of a malformed row, and the same library reads Parquet; columns
come back as Arrow arrays that convert to numpy without a copy, and dictionary encoding turns id
tokens into codes without a loop over rows.

Ids are tokens: users and items are numbered in sorted token order (numerically where every
token is an integer, so ``2 < 10``), and keep their raw ids (``RecData.user_ids``). Side tables
use the same tokens: knowledge-graph triples (head, relation, tail) with an item-to-entity link
table (without one an item is the entity with the same token), social ties, and item features
(``.npy`` rows indexed by integer item id, or a table with an item id column). Rows of side
tables that name unknown users or items are dropped with a warning. The interactions then go
through the filters and the split (:func:`kgrec.data.filters.prepare`).

Errors are one line with the file and line (or Parquet row): a missing column names the
columns found and the setting to change, a bad value names its column and line.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kgrec.config import DataConfig, SplitConfig, TableSpec
from kgrec.data import checks
from kgrec.data.filters import Side, Table, prepare
from kgrec.data.formats import DatasetFormat
from kgrec.data.formats.recbole import kg_from_tokens
from kgrec.data.recdata import KnowledgeGraph, RecData, SocialGraph
from kgrec.data.split import PARTS
from kgrec.errors import ConfigError, DataError

PARQUET = (".parquet", ".pq")
TEXT = (".csv", ".tsv", ".tab", ".txt", ".dat", ".inter")
BY_SUFFIX = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
SNIFF = ("\t", ",", ";", "|", "::")
WHITESPACE = ("whitespace", "\\s+", r"\s+")

ALIASES = {
    "user": ("user_id", "userid", "user", "uid", "user_name", "username", "reviewerid", "customer_id"),
    "item": ("item_id", "itemid", "item", "iid", "movieid", "movie_id", "artistid", "artist_id",
             "product_id", "productid", "asin", "business_id", "book_id", "isbn", "track_id"),
    "rating": ("rating", "ratings", "score", "stars", "overall"),
    "time": ("timestamp", "time", "datetime", "date", "ts", "unixreviewtime"),
    "split_column": ("split",),
    "head": ("head_id", "head", "h", "subject"),
    "relation": ("relation_id", "relation", "r", "predicate"),
    "tail": ("tail_id", "tail", "t", "object"),
    "link_item": ("item_id", "itemid", "item"),
    "entity": ("entity_id", "entityid", "entity"),
    "source": ("source_id", "src", "source", "user_id", "userid", "trustor"),
    "target": ("target_id", "dst", "target", "friend_id", "friendid", "trustee"),
}
SIDE_ROLES = {"kg": ("head", "relation", "tail"), "links": ("link_item", "entity"),
              "social": ("source", "target")}
PART_CODES = {"train": 0, "training": 0, "trn": 0, "0": 0, "valid": 1, "validation": 1, "val": 1,
              "dev": 1, "1": 1, "test": 2, "tst": 2, "2": 2}


# ---------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    """How one text table is read: the ``[data]`` settings, or a side table's own."""

    sep: str = "auto"
    header: bool | str = "auto"
    quote: str = '"'
    encoding: str = "utf-8"
    names: tuple[str, ...] = ()

    @staticmethod
    def of(cfg: DataConfig, spec: TableSpec | None = None) -> "Options":
        base = Options(cfg.sep, cfg.header, cfg.quote, cfg.encoding, tuple(cfg.names))
        if spec is None:
            return base
        return Options(spec.sep or "auto", base.header if spec.header == "" else spec.header,
                       spec.quote or base.quote, spec.encoding or base.encoding, tuple(spec.names))


def _norm(name: str) -> str:
    """``user_id:token`` -> ``userid``: how column names are compared with the known names."""
    return re.sub(r"[\s_\-]", "", name.split(":")[0]).lower()


def _separator(sep: str) -> str:
    if sep in ("\\t", "tab", "TAB"):
        return "\t"
    if sep in WHITESPACE:
        return "whitespace"
    return sep


# ---------------------------------------------------------------------------- reading


@dataclass
class Column:
    """One column of a table: its Arrow values and where it came from (for messages)."""

    name: str
    values: Any  # pyarrow Array


@dataclass
class RawTable:
    """A table read from one file: the columns asked for, and how to find a row's line."""

    path: Path
    names: list[str]
    columns: dict[str, Column]
    rows: int
    header_lines: int = 0
    data: bytes | None = None
    """The file's bytes (text files), to find the physical line of a row on error paths."""
    token_lines: np.ndarray | None = None
    """Whitespace-separated files: each row's 1-based line, known from tokenising."""
    _lines: np.ndarray | None = field(default=None, repr=False)

    def line(self, row: int) -> int | None:
        """1-based physical line of data row ``row`` (0-based), None for Parquet."""
        if self.token_lines is not None:
            return int(self.token_lines[row])
        if self.data is None:
            return None
        if self._lines is None:
            self._lines = nonblank_lines(self.data)
        index = row + self.header_lines
        return int(self._lines[index]) if index < len(self._lines) else None

    def error(self, row: int, message: str) -> DataError:
        line = self.line(row)
        if line is None and self.data is None:
            return DataError(self.path, f"row {row + 1}: {message}")
        return DataError(self.path, message, line=line)


def nonblank_lines(data: bytes) -> np.ndarray:
    """1-based numbers of the lines that hold something (CSV readers skip empty lines)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    if len(buf) and buf[-1] != 10:
        ends = np.append(ends, len(buf))
    starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else np.zeros(0, np.int64)
    length = ends - starts
    cr = np.zeros(len(ends), dtype=bool)
    has = length > 0
    cr[has] = buf[np.minimum(ends[has] - 1, len(buf) - 1)] == 13
    return np.flatnonzero(length - cr > 0) + 1


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, "is a directory, expected a table file") from None
    except OSError as exc:
        raise DataError(path, f"cannot read: {exc.strerror}") from None


def _head_lines(path: Path, data: bytes, encoding: str, count: int = 20) -> list[str]:
    try:
        text = data[:65536].decode(encoding, errors="replace")
    except LookupError:
        raise ConfigError(f"data.encoding {encoding!r} is not a known text encoding "
                          "(e.g. utf-8, latin-1, cp1252)") from None
    lines = [line.rstrip("\r") for line in text.split("\n")[:-1 if len(data) > 65536 else None]]
    return [line for line in lines if line.strip()][:count]


def _split_line(line: str, sep: str, quote: str) -> list[str]:
    if sep == "whitespace":
        return line.split()
    if len(sep) == 1:
        quoting = csv.QUOTE_NONE if quote in ("", "none") else csv.QUOTE_MINIMAL
        row = next(csv.reader([line], delimiter=sep, quotechar=quote if quote not in ("", "none") else None,
                              quoting=quoting), [])
        return [f.strip() for f in row]
    return [f.strip() for f in line.split(sep)]


def _sniff(path: Path, lines: list[str]) -> str:
    """The separator whose count is the same, and positive, on every one of the first lines,
    else the one whose count on the first line is the most common (a bad row is then reported
    with its line by the reader)."""
    for sep in SNIFF:
        counts = {line.count(sep) for line in lines}
        if len(counts) == 1 and counts.pop() > 0:
            return sep
    for sep in SNIFF:
        counts = [line.count(sep) for line in lines]
        if counts[0] > 0 and max(set(counts), key=counts.count) == counts[0]:
            return sep
    widths = {len(line.split()) for line in lines}
    if len(widths) == 1 and widths.pop() > 1:
        return "whitespace"
    raise DataError(path, "cannot tell the field separator from the first lines; set data.sep "
                          "(e.g. --set data.sep=, or data.sep=tab or data.sep=whitespace)")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _has_header(fields: list[str], second: list[str] | None, wanted: set[str]) -> bool:
    """A header when the first line names a wanted or well-known column, or holds no number
    while the second line holds one."""
    known = wanted | {_norm(a) for names in ALIASES.values() for a in names if len(a) >= 4}
    if any(_norm(f) in known for f in fields if not _is_number(f)):
        return True
    if second is None:
        return False
    return not any(_is_number(f) for f in fields) and any(_is_number(f) for f in second)


@dataclass(frozen=True)
class Role:
    """A column a table must (or may) have: its role, the setting naming it, its known names,
    and the position used when nothing else finds it."""

    role: str
    ref: str | int
    setting: str
    required: bool
    position: int | None = None
    aliases: tuple[str, ...] = ()


def resolve_columns(path: Path, names: list[str], roles: Sequence[Role], header: bool,
                    header_line: int | None) -> dict[str, str | None]:
    """role -> column name. An explicit ref must exist (by name, else by 1-based position); an
    empty one is found by known names, then by position; a missing required column is an
    error naming the columns found and the setting to change."""
    found = {}
    by_norm: dict[str, list[str]] = {}
    for name in names:
        by_norm.setdefault(_norm(name), []).append(name)
    shown = ", ".join(names)
    for role in roles:
        ref = role.ref
        choice = None
        if ref != "" and ref is not None:
            text = str(ref)
            if text in names:
                choice = text
            elif len(by_norm.get(_norm(text), [])) == 1:
                choice = by_norm[_norm(text)][0]
            elif text.isdigit() and 1 <= int(text) <= len(names):
                choice = names[int(text) - 1]
            else:
                where = f"columns found: {shown}" if header else f"the file has no header; columns are {shown}"
                raise DataError(path, f"{role.setting} = {ref!r} names no column ({where}); set "
                                      f"{role.setting} to one of them", line=header_line)
        else:
            for alias in role.aliases:
                hits = by_norm.get(_norm(alias), [])
                if len(hits) == 1:
                    choice = hits[0]
                    break
            if choice is None and role.position is not None and (not header or not role.aliases) \
                    and role.position <= len(names):
                choice = names[role.position - 1]
            if choice is None and role.required:
                hint = names[0] if names else "NAME"
                raise DataError(path, f"no {role.role} column (columns found: {shown}); set "
                                      f"{role.setting} to one of them, e.g. --set {role.setting}={hint}",
                                line=header_line)
        found[role.role] = choice
    used = [c for c in found.values() if c is not None]
    if len(used) != len(set(used)):
        dup = next(c for c in used if used.count(c) > 1)
        raise ConfigError(f"{path}: column {dup!r} is mapped to two roles "
                          f"({', '.join(r for r, c in found.items() if c == dup)})")
    return found


def read_table(path: Path, opts: Options, roles: Sequence[Role], string_roles: Sequence[str] = (),
               all_columns: bool = False) -> tuple[RawTable, dict[str, str | None]]:
    """Read the columns ``roles`` map (all columns with ``all_columns``) from a CSV/TSV or
    Parquet file: (table, role -> column name). Columns of ``string_roles`` are read as text."""
    if not path.exists():
        raise DataError(path, "file not found")
    if path.suffix.lower() in PARQUET:
        return _read_parquet(path, roles, all_columns)
    return _read_text(path, opts, roles, string_roles, all_columns)


def _read_parquet(path: Path, roles: Sequence[Role], all_columns: bool):
    import pyarrow.parquet as pq

    try:
        names = list(pq.read_schema(path).names)
        found = resolve_columns(path, names, roles, header=True, header_line=None)
        wanted = names if all_columns else [c for c in found.values() if c is not None]
        table = pq.read_table(path, columns=wanted)
    except DataError:
        raise
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(path, f"not a readable Parquet file ({' '.join(str(exc).split())[:200]})") from None
    columns = {name: Column(name, table.column(name).combine_chunks()) for name in wanted}
    return RawTable(path, names, columns, table.num_rows), found


def _read_text(path: Path, opts: Options, roles: Sequence[Role], string_roles: Sequence[str],
               all_columns: bool):
    data = _read_bytes(path)
    encoding = opts.encoding
    if encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig") and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = _head_lines(path, data, encoding)
    if not lines:
        raise DataError(path, "empty file (no rows)")
    sep = _separator(opts.sep)
    if sep == "auto":  # the extension's separator where the first line has it, else sniffed
        sep = BY_SUFFIX.get(path.suffix.lower(), "")
        if not sep or sep not in lines[0]:
            sep = _sniff(path, lines)
    quote = "" if opts.quote in ("", "none") else opts.quote
    first = _split_line(lines[0], sep, quote)
    second = _split_line(lines[1], sep, quote) if len(lines) > 1 else None
    wanted = {_norm(str(r.ref)) for r in roles if r.ref not in ("", None)}
    header = opts.header if opts.header != "auto" else _has_header(first, second, wanted)
    if header:
        names = [f.split(":")[0].strip() for f in first]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise DataError(path, f"the header names column {dup!r} twice", line=1)
    elif opts.names:
        names = list(opts.names)
        if len(names) < len(first):
            names += [str(k) for k in range(len(names) + 1, len(first) + 1)]
    else:
        names = [str(k) for k in range(1, len(first) + 1)]
    header_line = int(nonblank_lines(data[:65536])[0]) if header else None
    found = resolve_columns(path, names, roles, header=bool(header), header_line=header_line)
    include = names if all_columns else [c for c in found.values() if c is not None]
    strings = {found[r] for r in string_roles if found.get(r) is not None}
    if sep == "whitespace":
        return _read_whitespace(path, data, encoding, names, include, int(bool(header))), found
    if len(sep) > 1:  # pyarrow takes one character: a multi-character separator becomes \x1f
        data = data.replace(sep.encode(encoding), b"\x1f")
        sep = "\x1f"
    table = _arrow_csv(path, data, sep, quote, encoding, names, include, strings, int(bool(header)))
    columns = {name: Column(name, table.column(name).combine_chunks()) for name in include}
    return RawTable(path, names, columns, table.num_rows, int(bool(header)), data), found


def _arrow_csv(path: Path, data: bytes, sep: str, quote: str, encoding: str, names: list[str],
               include: list[str], strings: set[str], skip: int, threads: bool = True):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    bad: list[Any] = []

    def invalid(row) -> str:
        bad.append(row)
        return "skip"

    read = pacsv.ReadOptions(encoding=encoding, column_names=names, skip_rows=skip, use_threads=threads)
    parse = pacsv.ParseOptions(delimiter=sep, quote_char=quote or False, invalid_row_handler=invalid)
    convert = pacsv.ConvertOptions(include_columns=include, strings_can_be_null=False,
                                   column_types={name: pa.string() for name in strings})
    try:
        table = pacsv.read_csv(io.BytesIO(data), read_options=read, parse_options=parse,
                               convert_options=convert)
    except (ValueError, OSError, UnicodeDecodeError) as exc:  # ArrowInvalid is a ValueError
        text = " ".join(str(exc).split())
        if "UTF8" in text or "utf-8" in text.lower() or isinstance(exc, UnicodeDecodeError):
            raise _not_utf8(path, data, encoding) from None
        raise DataError(path, f"cannot parse ({text[:200]})") from None
    if bad:
        row = bad[0]
        if threads:  # the line is known only to a single-threaded read: read again to name it
            return _arrow_csv(path, data, sep, quote, encoding, names, include, strings, skip, False)
        lines = nonblank_lines(data)
        number = row.number if row.number is not None and row.number > 0 else None
        line = int(lines[number - 1]) if number is not None and number <= len(lines) else None
        shown = "tab" if sep == "\t" else repr(sep)
        raise DataError(path, f"expected {row.expected_columns} fields separated by {shown}, found "
                              f"{row.actual_columns} (set data.sep or data.quote if the separator is "
                              "another)", line=line)
    for name in include:  # undecodable bytes in an inferred column come back as binary
        if pa.types.is_binary(table.column(name).type):
            raise _not_utf8(path, data, encoding)
    return table


def _not_utf8(path: Path, data: bytes, encoding: str) -> DataError:
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return DataError(path, f"not {encoding} text (byte 0x{data[exc.start]:02x}); set data.encoding "
                               "(e.g. --set data.encoding=latin-1)", line=line)
    return DataError(path, f"not {encoding} text; set data.encoding (e.g. --set data.encoding=latin-1)")


def _read_whitespace(path: Path, data: bytes, encoding: str, names: list[str], include: list[str],
                     skip: int) -> RawTable:
    """Runs of spaces and tabs separate fields (kgrec's own tokeniser, no quoting)."""
    import pyarrow as pa

    from kgrec.data.tables import _tokenise

    if encoding.lower().replace("-", "").replace("_", "") not in ("utf8", "ascii"):
        data = data.decode(encoding, errors="strict").encode("utf-8")
    else:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise _not_utf8(path, data, "utf-8") from None
    tok = _tokenise(data)
    if skip and len(tok.line):
        keep = tok.line != tok.line[0]
        tok = type(tok)(tok.tokens[keep], tok.line[keep], tok.rank[keep])
    ncols = len(names)
    last = np.concatenate((tok.line[1:] != tok.line[:-1], [True])) if len(tok.line) else np.zeros(0, bool)
    counts, lines = tok.rank[last] + 1, tok.line[last]
    bad = counts != ncols
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(path, f"expected {ncols} whitespace-separated fields, found {int(counts[i])}",
                        line=int(lines[i]) + 1)
    text = np.char.decode(tok.tokens, "utf-8") if len(tok.tokens) else tok.tokens.astype(str)
    table = text.reshape(-1, ncols)
    columns = {name: Column(name, pa.array(table[:, names.index(name)].astype(object), pa.string()))
               for name in include}
    return RawTable(path, names, columns, table.shape[0], skip, None, lines + 1)


# ---------------------------------------------------------------------------- values


@dataclass
class Tokens:
    """Id tokens of one column: the sorted vocabulary and each row's code into it."""

    vocab: np.ndarray
    codes: np.ndarray


def _as_text(values):
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = pc.cast(values, pa.string())
    return pc.utf8_trim_whitespace(values)


def id_tokens(table: RawTable, column: str, what: str) -> Tokens:
    """Codes of an id column in sorted token order (numeric when every token is an integer)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = _as_text(table.columns[column].values)
    empty = pc.fill_null(pc.equal(values, ""), True)
    if pc.any(empty).as_py():
        row = int(np.argmax(empty.to_numpy(zero_copy_only=False)))
        raise table.error(row, f"empty {what} in column {column!r}")
    encoded = pc.dictionary_encode(values)
    words = encoded.dictionary
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    vocab = _vocabulary(words)
    order = np.argsort(vocab, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return Tokens(vocab[order], rank[codes])


def _vocabulary(words) -> np.ndarray:
    """Distinct tokens as int64 when all are canonical integers (``7``, not ``007``), else str."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        ints = pc.cast(words, pa.int64())
        if pc.all(pc.equal(pc.cast(ints, pa.string()), words)).as_py() is not False:
            return ints.to_numpy(zero_copy_only=False).astype(np.int64)
    except (ValueError, TypeError, NotImplementedError):
        pass
    return np.asarray(words.to_numpy(zero_copy_only=False), dtype=str)


def lookup(vocab: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, found) of ``tokens`` in ``vocab`` (any order); ints and text compare as text."""
    if vocab.dtype.kind != tokens.dtype.kind:
        vocab, tokens = vocab.astype(str), tokens.astype(str)
    if len(vocab) == 0:
        return np.zeros(len(tokens), np.int64), np.zeros(len(tokens), bool)
    order = np.argsort(vocab, kind="stable")
    pos = np.minimum(np.searchsorted(vocab[order], tokens), len(vocab) - 1)
    return order[pos].astype(np.int64), vocab[order][pos] == tokens


def numbers(table: RawTable, column: str, what: str) -> np.ndarray:
    """A numeric column as float64 (dates and times as Unix seconds); a bad or missing value
    is an error naming its line."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = table.columns[column].values
    kind = values.type
    if pa.types.is_timestamp(kind):
        values = pc.cast(pc.cast(values, pa.timestamp("s", tz=kind.tz)), pa.int64())
    elif pa.types.is_date(kind):
        values = pc.cast(pc.cast(values, pa.timestamp("s")), pa.int64())
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        values = _parse_numbers(table, column, what, values)
    elif pa.types.is_boolean(kind) or not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                           or pa.types.is_decimal(kind)):
        raise DataError(table.path, f"the {what} column {column!r} holds {kind}, not numbers")
    out = pc.cast(values, pa.float64())
    missing = pc.is_null(out, nan_is_null=True)
    if pc.any(missing).as_py():
        row = int(np.argmax(missing.to_numpy(zero_copy_only=False)))
        raise table.error(row, f"empty {what} in column {column!r}")
    array = out.to_numpy(zero_copy_only=False)
    if not np.isfinite(array).all():
        row = int(np.argmax(~np.isfinite(array)))
        raise table.error(row, f"{what} in column {column!r} is not finite")
    return array


_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


def _parse_numbers(table: RawTable, column: str, what: str, values):
    import pyarrow as pa
    import pyarrow.compute as pc

    values = _as_text(values)
    ok = pc.fill_null(pc.match_substring_regex(values, _NUMBER), False)
    if pc.all(ok).as_py():
        return pc.cast(values, pa.float64())
    if what == "time":  # ISO dates or date-times in text
        try:
            stamp = pc.strptime(values, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True)
            alt = pc.strptime(values, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
            day = pc.strptime(values, format="%Y-%m-%d", unit="s", error_is_null=True)
            merged = pc.coalesce(stamp, alt, day)
            if not pc.any(pc.is_null(merged)).as_py():
                return pc.cast(merged, pa.int64())
            ok = pc.or_(ok, pc.invert(pc.is_null(merged)))
        except (ValueError, NotImplementedError):
            pass
    row = int(np.argmax(~ok.to_numpy(zero_copy_only=False)))
    shown = values[row].as_py()
    kind = "a number or an ISO date/time" if what == "time" else "a number"
    raise table.error(row, f"{what} {shown!r} in column {column!r} is not {kind}")


def part_codes(table: RawTable, column: str) -> np.ndarray:
    """The dataset's own split column as 0 train, 1 valid, 2 test."""
    import pyarrow.compute as pc

    values = pc.utf8_lower(_as_text(table.columns[column].values))
    encoded = pc.dictionary_encode(values)
    words = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=str)
    mapped = np.array([PART_CODES.get(w, -1) for w in words.tolist()], dtype=np.int8)  # distinct values only
    codes = mapped[encoded.indices.to_numpy(zero_copy_only=False)]
    if (codes < 0).any():
        row = int(np.argmax(codes < 0))
        raise table.error(row, f"split label {words[encoded.indices[row].as_py()]!r} in column "
                               f"{column!r} is none of train, valid, test")
    return codes


# ---------------------------------------------------------------------------- the format


def _interaction_roles(cfg: DataConfig, with_split: bool) -> list[Role]:
    roles = [Role("user", cfg.user, "data.user", True, 1, ALIASES["user"]),
             Role("item", cfg.item, "data.item", True, 2, ALIASES["item"]),
             Role("rating", cfg.rating, "data.rating", False, None, ALIASES["rating"]),
             Role("time", cfg.time, "data.time", False, None, ALIASES["time"])]
    if with_split:
        roles.append(Role("split_column", cfg.split_column, "data.split_column", False, None,
                          ALIASES["split_column"] if cfg.split_column != "" else ()))
    return roles


def _resolve(root: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else root / path


def interactions_file(path: Path) -> Path | None:
    """The interactions table ``path`` names: itself, or a directory's only ``.inter``."""
    if path.is_file():
        return path
    if path.is_dir():
        found = sorted(path.glob("*.inter"))
        named = path / f"{path.name}.inter"
        if named.is_file():
            return named
        return found[0] if len(found) == 1 else None
    return None


def _tab_separated(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            first = handle.readline(65536)
    except OSError:
        return False
    return b"\t" in first


def detect(path: Path) -> bool:
    """A single table file (CSV, TSV, Parquet, text), or a RecBole-style ``.inter`` that is not
    tab-separated (a tab-separated one is the ``recbole`` format's)."""
    target = interactions_file(path)
    if target is None:
        return False
    suffix = target.suffix.lower()
    if suffix == ".inter":
        return not _tab_separated(target)
    return path.is_file() and suffix in TEXT + PARQUET


def load_tabular(path: str | Path, split_config: SplitConfig | None = None,
                 data_config: DataConfig | None = None) -> RecData:
    """Load an interactions table and its side tables (see the module doc)."""
    given = Path(path)
    cfg = data_config or DataConfig()
    split = split_config or SplitConfig()
    inter = interactions_file(given)
    if inter is None:
        raise DataError(given, "the tabular format reads one interactions file (CSV, TSV, Parquet): "
                               "give --dataset path/to/file.csv")
    root = inter.parent
    opts = Options.of(cfg)
    with_split = not (cfg.valid_file or cfg.test_file)
    strings = ("user", "item", "split_column")
    main, cols = read_table(inter, opts, _interaction_roles(cfg, with_split), strings)
    tables = [(main, cols, None)]
    for code, name in ((1, cfg.valid_file), (2, cfg.test_file)):
        if name:
            part_table, part_cols = read_table(_resolve(root, name), opts, _interaction_roles(cfg, False), strings)
            tables.append((part_table, part_cols, code))
    user_tok, item_tok = _joint_ids(tables, "user"), _joint_ids(tables, "item")
    rating = _joint_numbers(tables, "rating")
    time = _joint_numbers(tables, "time")
    part = None
    if len(tables) > 1:
        part = np.concatenate([np.full(t.rows, 0 if code is None else code, np.int8) for t, _, code in tables])
    elif cols.get("split_column"):
        part = part_codes(main, cols["split_column"])
    table = Table(user_tok.codes, item_tok.codes, len(user_tok.vocab), len(item_tok.vocab),
                  rating=rating, time=time, part=part)
    side = _side(root, cfg, user_tok.vocab, item_tok.vocab, cols["item"])
    mapped = {role: col for role, col in cols.items() if col is not None}
    extra = {"tabular": {"file": str(inter), "columns": mapped,
                         **({"valid_file": cfg.valid_file} if cfg.valid_file else {}),
                         **({"test_file": cfg.test_file} if cfg.test_file else {})}}
    name = inter.stem if inter.parent.name in ("", ".") else f"{inter.parent.name}-{inter.stem}" \
        if inter.stem.lower() in ("ratings", "interactions", "data", "train", "inter") else inter.stem
    return prepare(table, side, cfg, split, where=inter, name=name, source=str(inter),
                   user_ids=user_tok.vocab, item_ids=item_tok.vocab, extra=extra)


def _joint_ids(tables, role: str) -> Tokens:
    """One vocabulary over the same column of several files (train / valid / test)."""
    import pyarrow as pa

    if len(tables) == 1:
        table, cols, _ = tables[0]
        return id_tokens(table, cols[role], role)
    for table, cols, _ in tables:  # errors with their own file and line first
        id_tokens(table, cols[role], role)
    merged = RawTable(tables[0][0].path, [], {"ids": Column("ids", pa.concat_arrays(
        [_as_text(t.columns[c[role]].values) for t, c, _ in tables]))}, sum(t.rows for t, _, _ in tables))
    return id_tokens(merged, "ids", role)


def _joint_numbers(tables, role: str) -> np.ndarray | None:
    present = [cols.get(role) is not None for _, cols, _ in tables]
    if not any(present):
        return None
    if not all(present):
        missing = next(t.path for (t, c, _) in tables if c.get(role) is None)
        raise DataError(missing, f"has no {role} column while the other split files have one")
    return np.concatenate([numbers(t, c[role], role) for t, c, _ in tables])


def _side(root: Path, cfg: DataConfig, users: np.ndarray, items: np.ndarray, item_column: str) -> Side:
    kg = _kg(root, cfg, items) if cfg.kg.path else None
    if cfg.links.path and not cfg.kg.path:
        raise ConfigError("data.links.path is set but data.kg.path is not: links join items to the "
                          "knowledge graph's entities")
    social = _social(root, cfg, users) if cfg.social.path else None
    modalities, missing = {}, {}
    for name, file in sorted(cfg.features.items()):
        modalities[name], missing[name] = _features(root, cfg, name, _resolve(root, file), items, item_column)
    return Side(kg=kg, social=social, modalities=modalities, missing_features=missing)


def _roles(spec: TableSpec, kind: str) -> list[Role]:
    names = SIDE_ROLES[kind]
    refs = list(spec.columns) + [""] * (len(names) - len(spec.columns))
    if len(spec.columns) > len(names):
        raise ConfigError(f"data.{kind}.columns takes {len(names)} columns ({', '.join(names)})")
    return [Role(role, refs[k], f"data.{kind}.columns[{k + 1}]", True, k + 1, ALIASES[role])
            for k, role in enumerate(names)]


def _kg(root: Path, cfg: DataConfig, items: np.ndarray) -> KnowledgeGraph:
    path = _resolve(root, cfg.kg.path)
    table, cols = read_table(path, Options.of(cfg, cfg.kg), _roles(cfg.kg, "kg"), ("head", "relation", "tail"))
    if table.rows == 0:
        raise DataError(path, "no triples")
    heads, rels, tails = (np.asarray(_as_text(table.columns[cols[r]].values).to_numpy(zero_copy_only=False), dtype=str)
                          for r in ("head", "relation", "tail"))
    names, relations = np.unique(rels, return_inverse=True)
    num_items = len(items)
    item_text = items.astype(str)
    if cfg.links.path:
        link_path = _resolve(root, cfg.links.path)
        links, lcols = read_table(link_path, Options.of(cfg, cfg.links), _roles(cfg.links, "links"),
                                  ("link_item", "entity"))
        link_items = np.asarray(_as_text(links.columns[lcols["link_item"]].values).to_numpy(zero_copy_only=False), dtype=str)
        link_entities = np.asarray(_as_text(links.columns[lcols["entity"]].values).to_numpy(zero_copy_only=False), dtype=str)
        codes, known = lookup(item_text, link_items)
        if not known.all():
            warnings.warn(f"{link_path}: dropped {int((~known).sum())} links of items without "
                          "interactions", checks.DataRepairWarning, stacklevel=3)
        codes, link_entities = codes[known], link_entities[known]
        _, first = np.unique(codes, return_index=True)
        if len(first) < len(codes):
            warnings.warn(f"{link_path}: {len(codes) - len(first)} items linked to more than one "
                          "entity; kept the first link of each", checks.DataRepairWarning, stacklevel=3)
        first = np.sort(first)
        link_codes, link_entities = codes[first], link_entities[first]
    else:  # an item is the entity with its own token, where the KG has that entity
        in_kg = np.isin(item_text, np.concatenate([heads, tails]))
        link_codes, link_entities = np.flatnonzero(in_kg).astype(np.int64), item_text[in_kg]
    return kg_from_tokens(path, heads, relations.astype(np.int64), tails, names, link_codes,
                          link_entities, num_items)


def _social(root: Path, cfg: DataConfig, users: np.ndarray) -> SocialGraph:
    path = _resolve(root, cfg.social.path)
    table, cols = read_table(path, Options.of(cfg, cfg.social), _roles(cfg.social, "social"),
                             ("source", "target"))
    src_tok = np.asarray(_as_text(table.columns[cols["source"]].values).to_numpy(zero_copy_only=False), dtype=str)
    dst_tok = np.asarray(_as_text(table.columns[cols["target"]].values).to_numpy(zero_copy_only=False), dtype=str)
    user_text = users.astype(str)
    src, src_ok = lookup(user_text, src_tok)
    dst, dst_ok = lookup(user_text, dst_tok)
    known = src_ok & dst_ok
    if not known.all():
        warnings.warn(f"{path}: dropped {int((~known).sum())} of {len(known)} ties to or from users "
                      "without interactions", checks.DataRepairWarning, stacklevel=3)
    src, dst = checks.drop_self_loops(path, src[known], dst[known])
    return SocialGraph(*checks.drop_duplicate_pairs(path, src, dst, what="social"))


def _features(root: Path, cfg: DataConfig, name: str, path: Path, items: np.ndarray,
              item_column: str) -> tuple[np.ndarray, np.ndarray]:
    """An items x dim float32 matrix over item codes and which items have no row."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ConfigError(f"data.features: modality name {name!r} must be letters, digits, _ and -")
    num_items = len(items)
    if path.suffix.lower() == ".npy":
        if not path.is_file():
            raise DataError(path, "file not found")
        try:
            matrix = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise DataError(path, f"not a numeric .npy array: {exc}") from None
        if items.dtype.kind not in "iu":
            raise DataError(path, "a .npy feature file is indexed by integer item ids, and the item "
                                  "ids are not integers; give a table with an item id column instead")
        if matrix.ndim != 2:
            raise DataError(path, f"feature matrix must be 2-d (items x dim), got shape {matrix.shape}")
        missing = (items < 0) | (items >= matrix.shape[0])
        rows = np.where(missing, 0, items)
        out = checks.check_features(path, matrix[rows] if len(matrix) else np.zeros((num_items, matrix.shape[1])),
                                    num_items)
        return out, missing
    roles = [Role("item", "", f"data.features.{name} item column", True, 1,
                  (item_column,) + ALIASES["item"])]
    table, cols = read_table(path, Options.of(cfg), roles, ("item",), all_columns=True)
    codes, known = lookup(items.astype(str), np.asarray(_as_text(table.columns[cols["item"]].values).to_numpy(zero_copy_only=False), dtype=str))
    value_names = [n for n in table.names if n != cols["item"]]
    if not value_names:
        raise DataError(path, f"feature table has no columns besides the item column {cols['item']!r}")
    matrix = np.stack([numbers(table, n, "feature") for n in value_names], axis=1)
    if len(np.unique(codes[known])) < int(known.sum()):
        raise DataError(path, "an item has more than one feature row")
    out = np.zeros((num_items, matrix.shape[1]), dtype=np.float32)
    out[codes[known]] = matrix[known]
    missing = np.ones(num_items, dtype=bool)
    missing[codes[known]] = False
    return checks.check_features(path, out, num_items), missing


FORMAT = DatasetFormat(
    name="tabular",
    expects="one CSV/TSV/Parquet interactions file (columns set with data.user, data.item, ...)",
    detect=detect,
    load=load_tabular,
    takes_data_config=True,
)
