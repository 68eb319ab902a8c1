"""The mapping between a dataset's raw user / item ids and kgrec's internal indices.

Every run directory keeps it in ``ids.npz`` (``numpy.savez_compressed``, read with
``allow_pickle=False``: no pickles), so a finished run answers in the dataset's own ids
without the dataset:

- ``user_ids`` / ``item_ids``: one entry per internal index (``user_ids[u]`` is internal user
  ``u``'s raw id), int64 or a fixed-width unicode array (string tokens);
- ``user_kind`` / ``item_kind``: ``raw`` (the files' own ids, ``RecData.user_ids`` /
  ``item_ids``) or ``index`` (the files name users / items by kgrec's 0-based indices, so the
  ids are those indices);
- ``format``: :data:`IDS_FORMAT`.

On the 100k-user synthetic set (120k integer ids) the file is 0.2 MB; string tokens cost
what their text costs, compressed.

:class:`IdMap` turns raw ids into indices (vectorised: one argsort when the map is built,
then ``searchsorted`` per lookup), with one-line errors for ids of the wrong type and for
unknown ids.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from kgrec.data.recdata import RecData
from kgrec.errors import KgrecError
from kgrec.train.checkpoint import atomic_write_bytes

IDS_FILE = "ids.npz"
IDS_FORMAT = 1


@dataclass
class IdMap:
    """Raw ids of one kind (users or items), indexed by internal index."""

    ids: np.ndarray
    """``ids[i]``: the raw id of internal index ``i`` (int64 or unicode)."""
    kind: str
    """``"user"`` or ``"item"``."""
    raw: bool
    """True: the dataset's own ids; False: the dataset names them by these indices."""
    _sorter: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids)
        if self.ids.dtype.kind in "iu":
            self.ids = self.ids.astype(np.int64)
        elif self.ids.dtype.kind != "U":
            self.ids = self.ids.astype(str)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def integer(self) -> bool:
        """Whether the raw ids are integers (else strings)."""
        return self.ids.dtype.kind == "i"

    @property
    def type_name(self) -> str:
        return "integers" if self.integer else "strings"

    def example(self) -> Any:
        return self.ids[0].item() if len(self) else None

    def coerce(self, values: Any, what: str | None = None) -> np.ndarray:
        """``values`` (one id or a sequence) as an array of this map's id type, or a one-line
        error naming the first value of the wrong type. Strict: integers for integer ids,
        strings for string ids (see :meth:`parse` for text from a command line)."""
        what = what or f"{self.kind} id"
        array = _as_array(values)
        if array.ndim != 1:
            raise KgrecError(f"{what}s must be one id or a flat sequence of ids; got shape {array.shape}")
        if self.integer:
            if array.dtype.kind in "iu":
                return array.astype(np.int64)
            if array.size == 0:
                return np.zeros(0, np.int64)
        elif array.dtype.kind == "U" or array.size == 0:
            return array.astype(str)
        bad = _first_of_wrong_type(array, self.integer)
        raise KgrecError(f"{what} {bad!r} is {_a_type(bad)}, but this run's {self.kind} ids "
                         f"are {self.type_name} (e.g. {self.example()!r})")

    def parse(self, texts: Sequence[str], what: str | None = None) -> np.ndarray:
        """Ids typed as text (a command line, a query string) in this map's id type."""
        what = what or f"{self.kind} id"
        if not self.integer:
            return np.asarray([str(t) for t in texts], dtype=str)
        out = np.zeros(len(texts), np.int64)
        for n, text in enumerate(texts):  # a handful of ids from a person, not a hot path
            try:
                out[n] = int(str(text).strip())
            except ValueError:
                raise KgrecError(f"{what} {text!r} is not an integer (this run's {self.kind} ids are "
                                 f"integers, e.g. {self.example()!r})") from None
        return out

    def lookup(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Internal indices of raw ``values`` (already of this map's type) and a found mask;
        the index of a value not found is 0."""
        values = np.asarray(values)
        if len(self) == 0 or values.size == 0:
            return np.zeros(values.shape, np.int64), np.zeros(values.shape, bool)
        if not self.raw:
            found = (values >= 0) & (values < len(self))
            return np.where(found, values, 0).astype(np.int64), found
        if self._sorter is None:
            self._sorter = np.argsort(self.ids, kind="stable")
        pos = np.minimum(np.searchsorted(self.ids, values, sorter=self._sorter), len(self) - 1)
        index = self._sorter[pos]
        found = self.ids[index] == values
        return np.where(found, index, 0).astype(np.int64), found

    def indices(self, values: Any, what: str | None = None) -> np.ndarray:
        """Internal indices of raw ids ``values``; a one-line error for an unknown one."""
        what = what or f"{self.kind} id"
        raw = self.coerce(values, what)
        index, found = self.lookup(raw)
        if not found.all():
            missing = raw[~found]
            shown = ", ".join(repr(v.item()) for v in missing[:5])
            more = f" and {missing.size - 5} more" if missing.size > 5 else ""
            raise KgrecError(f"unknown {what}{'s' if missing.size > 1 else ''} {shown}{more} "
                             f"(this run has {len(self)} {self.kind}s)")
        return index

    def raw_of(self, index: np.ndarray) -> np.ndarray:
        return self.ids[np.asarray(index, dtype=np.int64)]


def _as_array(values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values.reshape(-1) if values.ndim == 0 else values
    if isinstance(values, (str, bytes, int, np.integer, float, np.floating)) or values is None:
        values = [values]
    values = list(values) if not isinstance(values, (list, tuple)) else values
    kinds = {type(v) for v in values}
    if kinds and all(issubclass(k, str) for k in kinds):
        return np.asarray(values, dtype=str)
    if kinds and all(issubclass(k, (int, np.integer)) and not issubclass(k, bool) for k in kinds):
        return np.asarray(values, dtype=np.int64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _a_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    words = {float: "a float", str: "a string", bytes: "bytes", type(None): "None"}
    return words.get(type(value), f"a {type(value).__name__}")


def _first_of_wrong_type(array: np.ndarray, integer: bool) -> Any:
    for value in array.tolist():  # the failure path only
        ok = (isinstance(value, int) and not isinstance(value, bool)) if integer else isinstance(value, str)
        if not ok:
            return value
    return array.tolist()[0]


@dataclass
class RunIds:
    """A run's two id maps."""

    users: IdMap
    items: IdMap

    @classmethod
    def of(cls, data: RecData) -> "RunIds":
        maps = []
        for kind, count in (("user", data.num_users), ("item", data.num_items)):
            ids, raw = data.raw_ids(kind)
            if len(ids) != count:
                raise KgrecError(f"dataset {data.name!r}: {len(ids)} raw {kind} ids for {count} "
                                 f"{kind}s (a loader or filter renumbered {kind}s without its ids)")
            if raw and np.unique(ids).shape[0] != count:
                raise KgrecError(f"dataset {data.name!r}: its raw {kind} ids are not all distinct")
            maps.append(IdMap(ids, kind, raw))
        return cls(*maps)


def save_ids(run_dir: Path, data: RecData) -> RunIds:
    """Write ``ids.npz`` for ``data`` into ``run_dir`` (atomically)."""
    ids = RunIds.of(data)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, format=np.array(IDS_FORMAT), user_ids=ids.users.ids,
                        item_ids=ids.items.ids,
                        user_kind=np.array("raw" if ids.users.raw else "index"),
                        item_kind=np.array("raw" if ids.items.raw else "index"))
    atomic_write_bytes(Path(run_dir) / IDS_FILE, buffer.getvalue())
    return ids


def load_ids(run_dir: Path) -> RunIds | None:
    """A run's id maps from its ``ids.npz``; None when it has none (runs from before kgrec
    kept them). A damaged or foreign file is a one-line error."""
    path = Path(run_dir) / IDS_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as found:
            arrays = {name: found[name] for name in found.files}
    except Exception as exc:  # zip, npy and pickle refusals all mean: not ours
        raise KgrecError(f"{path}: not a readable id map ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})") from None
    need = {"format", "user_ids", "item_ids", "user_kind", "item_kind"}
    if not need <= set(arrays):
        raise KgrecError(f"{path}: not a kgrec id map (missing {', '.join(sorted(need - set(arrays)))})")
    if int(arrays["format"]) > IDS_FORMAT:
        raise KgrecError(f"{path}: id map format {int(arrays['format'])} is newer than this kgrec "
                         f"reads ({IDS_FORMAT}); upgrade kgrec")
    maps = []
    for kind in ("user", "item"):
        ids = arrays[f"{kind}_ids"]
        if ids.ndim != 1 or ids.dtype.kind not in "iuU":
            raise KgrecError(f"{path}: {kind}_ids must be a 1-d integer or string array")
        maps.append(IdMap(ids, kind, str(arrays[f"{kind}_kind"]) == "raw"))
    return RunIds(*maps)


def as_python(values: Iterable[Any]) -> list[Any]:
    """Plain Python values (for JSON)."""
    return np.asarray(list(values) if not isinstance(values, np.ndarray) else values).tolist()
