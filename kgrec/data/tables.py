"""Fast readers for whitespace separated tables, with errors that name the file and line.

Research datasets are plain text tables (``user item``, ``head relation tail``). Parsing them
row by row in Python is the slow part of loading, so the happy path tokenises the whole file
at once with numpy; only when something is wrong do we walk the tokens one by one to find
the first bad line, so the user gets ``file:line: what is wrong`` instead of a traceback.

Separators are ASCII whitespace (spaces and tabs, any number); ``\\r\\n`` line ends and blank
lines are accepted; line numbers are 1-based physical lines of the file, header included.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from kgrec.errors import DataError

Header = bool | Literal["auto"]

_WS = np.zeros(256, dtype=bool)
_WS[list(b" \t\n\r\x0b\x0c")] = True  # exactly the set bytes.split() splits on


@dataclass(frozen=True)
class _Tokens:
    """The tokens of a file and, for each, its 0-based line and position within the line."""

    tokens: np.ndarray  # bytes ('S') array
    line: np.ndarray  # int64, 0-based physical line of each token
    rank: np.ndarray  # int64, 0-based field index within its line


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, "is a directory, expected a file") from None
    except OSError as exc:
        raise DataError(path, f"cannot read: {exc.strerror}") from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line=line) from None
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data  # drop a UTF-8 BOM


def _tokenise(data: bytes) -> _Tokens:
    """Split on ASCII whitespace and locate every token's line, without a loop over rows."""
    buf = np.frombuffer(data, dtype=np.uint8)
    ws = _WS[buf]
    starts = np.flatnonzero(~ws & np.concatenate(([True], ws[:-1])))
    newlines = np.flatnonzero(buf == 10)
    line = np.searchsorted(newlines, starts).astype(np.int64)
    tokens = np.array(data.split(), dtype=bytes) if len(starts) else np.zeros(0, dtype="S1")
    # rank within the line: index minus the index of the line's first token
    first = np.concatenate(([True], line[1:] != line[:-1])) if len(line) else np.zeros(0, bool)
    first_idx = np.maximum.accumulate(np.where(first, np.arange(len(line)), 0)) if len(line) else line
    return _Tokens(tokens, line, np.arange(len(line), dtype=np.int64) - first_idx)


def _drop_first_line(tok: _Tokens) -> _Tokens:
    if len(tok.line) == 0:
        return tok
    keep = tok.line != tok.line[0]
    return _Tokens(tok.tokens[keep], tok.line[keep], tok.rank[keep])


def _select(path: Path, tok: _Tokens, ncols: int, min_cols: int | None) -> _Tokens:
    """Check every line's field count; keep the first ``ncols`` fields of each line."""
    if len(tok.line) == 0:
        raise DataError(path, "no rows")
    last = np.concatenate((tok.line[1:] != tok.line[:-1], [True]))
    counts, lines = tok.rank[last] + 1, tok.line[last]
    bad = counts < min_cols if min_cols is not None else counts != ncols
    if bad.any():
        i = int(np.argmax(bad))
        want = f"at least {min_cols}" if min_cols is not None else str(ncols)
        raise DataError(path, f"expected {want} columns, found {int(counts[i])}", line=int(lines[i]) + 1)
    keep = tok.rank < ncols
    return _Tokens(tok.tokens[keep], tok.line[keep], tok.rank[keep])


def _first_bad(tokens: np.ndarray, convert: type) -> int:
    """Index of the first token ``convert`` rejects (the slow scan, failure path only)."""
    for i, t in enumerate(tokens.tolist()):
        try:
            convert(t)
        except (ValueError, OverflowError):
            return i
    return -1


def _parses(tokens: np.ndarray, dtype: type) -> bool:
    try:
        tokens.astype(dtype)
    except (ValueError, OverflowError):
        return False
    return True


def _check_args(ncols: int, min_cols: int | None) -> None:
    if ncols < 1:
        raise ValueError("ncols must be >= 1")
    if min_cols is not None and min_cols < ncols:
        raise ValueError("min_cols must be >= ncols (extra columns are allowed, not missing ones)")


def _read_numeric(path: str | Path, ncols: int, header: Header, min_cols: int | None,
                  dtype: type, nonnegative: bool) -> tuple[np.ndarray, np.ndarray]:
    _check_args(ncols, min_cols)
    path = Path(path)
    tok = _tokenise(_read_bytes(path))
    if header is True:
        tok = _drop_first_line(tok)
    elif header == "auto" and len(tok.line):
        head = tok.tokens[(tok.line == tok.line[0]) & (tok.rank < ncols)]
        if not _parses(head, dtype):
            tok = _drop_first_line(tok)
    tok = _select(path, tok, ncols, min_cols)
    convert = int if dtype is np.int64 else float
    kind = "an integer" if dtype is np.int64 else "a number"
    try:
        values = tok.tokens.astype(dtype)
    except (ValueError, OverflowError):
        i = _first_bad(tok.tokens, convert)
        raise DataError(path, f"column {int(tok.rank[i]) + 1}: {tok.tokens[i].decode()!r} is not {kind}",
                        line=int(tok.line[i]) + 1) from None
    if dtype is np.float64 and not np.isfinite(values).all():
        i = int(np.argmax(~np.isfinite(values)))
        raise DataError(path, f"column {int(tok.rank[i]) + 1}: {tok.tokens[i].decode()!r} is not finite",
                        line=int(tok.line[i]) + 1)
    if nonnegative and (values < 0).any():
        i = int(np.argmax(values < 0))
        raise DataError(path, f"column {int(tok.rank[i]) + 1}: negative id {tok.tokens[i].decode()}",
                        line=int(tok.line[i]) + 1)
    rows = values.reshape(-1, ncols)
    return rows, tok.line[tok.rank == 0] + 1


def read_int_table(path: str | Path, ncols: int, header: Header = False, min_cols: int | None = None,
                   *, return_lines: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Read non-negative integer ids as an int64 array of shape ``(rows, ncols)``.

    Every row must have exactly ``ncols`` fields; with ``min_cols`` (>= ``ncols``) a row may
    carry extra trailing fields (a rating, a timestamp, a weight), which are not parsed.
    ``header``: ``True`` skips the first line, ``"auto"`` skips it when its fields are not
    numbers. ``return_lines`` also returns each row's 1-based line number, so later checks
    (an id out of range) can name the line too.
    """
    rows, lines = _read_numeric(path, ncols, header, min_cols, np.int64, nonnegative=True)
    return (rows, lines) if return_lines else rows


def read_float_table(path: str | Path, ncols: int, header: Header = False,
                     min_cols: int | None = None) -> np.ndarray:
    """Like :func:`read_int_table` for finite float64 values (ratings, weights), sign free."""
    rows, _ = _read_numeric(path, ncols, header, min_cols, np.float64, nonnegative=False)
    return rows


def read_token_table(path: str | Path, ncols: int, header: bool = False,
                     min_cols: int | None = None) -> list[np.ndarray]:
    """Read string tokens (string ids, relation names) as ``ncols`` columns of str.

    Each column is a numpy unicode array, ready for ``np.unique(..., return_inverse=True)``
    to map tokens to contiguous ids. Fields are whitespace separated, so tokens cannot
    contain spaces.
    """
    if header not in (True, False):
        raise ValueError("read_token_table: header must be True or False")
    _check_args(ncols, min_cols)
    path = Path(path)
    tok = _tokenise(_read_bytes(path))
    if header:
        tok = _drop_first_line(tok)
    tok = _select(path, tok, ncols, min_cols)
    text = np.char.decode(tok.tokens, "utf-8") if len(tok.tokens) else tok.tokens.astype(str)
    table = text.reshape(-1, ncols)
    return [np.ascontiguousarray(table[:, j]) for j in range(ncols)]
