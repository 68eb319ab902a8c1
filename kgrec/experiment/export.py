"""``kgrec export``: a loaded run's top-K for every user (and its embedding tables) to a file.

The format follows the extension: ``.csv`` (the standard library; always available) or
``.parquet`` / ``.pq`` (pyarrow, a kgrec dependency that a ``--no-deps`` install may lack).
Top-K files are long tables, one row per (user, rank): ``user, rank, item, score``, under
the dataset's raw ids, rank 1 the best. Embedding tables have one row per user or item:
``id, e0, e1, ...``.

Users stream through in batches (``batch_size`` users at a time, shrunk if one
``(batch, items)`` score block would not fit in memory), so memory stays at the loaded run
plus one block, whatever the number of users (docs/benchmarks.md, "Exporting a run"). Files
are written to a temporary name beside the target and renamed into place when complete.
"""

from __future__ import annotations

import csv
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from torch import Tensor

from kgrec.errors import KgrecError
from kgrec.experiment.ids import IdMap
from kgrec.experiment.load import EXCLUDE, TrainedRun, _positive_k

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass
class Exported:
    """What an export wrote."""

    path: Path
    rows: int
    users: int
    seconds: float
    extra: list[Path]
    """Embedding tables written beside ``path`` (``--embeddings``)."""


def file_format(path: Path) -> str:
    """``csv`` or ``parquet`` from the extension, or a one-line error; Parquet needs pyarrow."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise KgrecError(f"{path}: the output must end in .csv or .parquet (the format follows "
                         "the extension)")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
            import pyarrow.parquet  # noqa: F401
        except ImportError as exc:
            raise KgrecError(f"{path}: writing Parquet needs pyarrow (pip install pyarrow), "
                             f"which cannot be imported here ({exc}); or write .csv") from None
    return fmt


def embedding_paths(path: Path) -> tuple[Path, Path]:
    """Where ``--embeddings`` writes: ``<stem>.user_embeddings<ext>`` and ``.item_embeddings``."""
    return (path.with_name(f"{path.stem}.user_embeddings{path.suffix}"),
            path.with_name(f"{path.stem}.item_embeddings{path.suffix}"))


class _Table:
    """Rows appended batch by batch to a CSV or Parquet file under a temporary name."""

    def __init__(self, path: Path, columns: Sequence[str]):
        self.path, self.columns = path, list(columns)
        self.format = file_format(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        self.rows = 0
        self._writer: Any = None
        if self.format == "csv":
            self._handle = open(self.tmp, "w", newline="", encoding="utf-8")
            self._csv = csv.writer(self._handle)
            self._csv.writerow(self.columns)

    def append(self, arrays: Sequence[np.ndarray]) -> None:
        n = int(arrays[0].shape[0])
        if self.format == "csv":
            # floats as their shortest float32 text, ids as they are; csv quotes where needed
            cols = [a.astype(str) if a.dtype.kind == "f" else a for a in arrays]
            self._csv.writerows(zip(*(c.tolist() for c in cols)))
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.table({name: pa.array(a) for name, a in zip(self.columns, arrays)})
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
            self._writer.write_table(table)
        self.rows += n

    def close(self) -> None:
        if self.format == "csv":
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
        else:
            if self._writer is None:  # nothing appended: still a valid, empty table
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.table({name: pa.array([]) for name in self.columns}), self.tmp)
            else:
                self._writer.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            if self.format == "csv":
                self._handle.close()
            elif self._writer is not None:
                self._writer.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def _write(path: Path, columns: Sequence[str], batches: Callable[[_Table], None]) -> int:
    table = _Table(path, columns)
    try:
        batches(table)
    except BaseException:
        table.abort()
        raise
    table.close()
    return table.rows


def export(trained: TrainedRun, out: str | Path, *, k: int = 10, exclude_seen: bool | str = True,
           embeddings: bool = False, batch_size: int | None = None,
           progress: bool = True) -> Exported:
    """Write ``trained``'s top-``k`` for every user to ``out`` (CSV or Parquet by extension);
    with ``embeddings``, also the user and item embedding tables beside it."""
    path = Path(out)
    file_format(path)
    k = min(_positive_k(k), trained.data.num_items)
    if exclude_seen not in EXCLUDE:
        raise KgrecError(f"exclude_seen must be True, False, 'all' or 'train'; got {exclude_seen!r}")
    step = trained.batch_size(batch_size)
    users = trained.data.num_users
    ids_u, ids_i = trained.ids.users, trained.ids.items
    start_time = time.perf_counter()

    def topk(table: _Table) -> None:
        ranks = np.tile(np.arange(1, k + 1, dtype=np.int32), step)
        with tqdm(total=users, unit="user", desc="export", disable=not progress) as bar:
            for start in range(0, users, step):
                index = np.arange(start, min(start + step, users))
                items, scores = trained.rank(index, k, exclude_seen)
                keep = (items >= 0).reshape(-1)
                table.append([np.repeat(ids_u.raw_of(index), k)[keep], ranks[:len(index) * k][keep],
                              ids_i.raw_of(np.maximum(items, 0)).reshape(-1)[keep],
                              scores.reshape(-1)[keep]])
                bar.update(len(index))

    rows = _write(path, ["user", "rank", "item", "score"], topk)
    extra = []
    if embeddings:
        emb = trained._embeddings()
        for target, ids, vectors in zip(embedding_paths(path), (ids_u, ids_i), (emb.users, emb.items)):
            _write_embeddings(target, ids, vectors, step * 8, progress)
            extra.append(target)
    return Exported(path, rows, users, time.perf_counter() - start_time, extra)


def _write_embeddings(path: Path, ids: IdMap, vectors: Tensor, step: int, progress: bool) -> None:
    """``id, e0, e1, ...``: one row per user or item, ``step`` rows at a time."""
    count = len(ids)
    vectors = vectors.reshape(count, -1)
    columns = ["id"] + [f"e{j}" for j in range(vectors.shape[1])]

    def batches(table: _Table) -> None:
        with tqdm(total=count, unit="row", desc=path.name, disable=not progress) as bar:
            for start in range(0, count, step):
                block = vectors[start:start + step].detach().float().cpu().numpy()
                table.append([ids.ids[start:start + step], *block.T])
                bar.update(block.shape[0])

    _write(path, columns, batches)
