"""The one way kgrec reads a pickle from outside: only numpy and scipy.sparse classes.

Pickle is code execution: a plain ``pickle.load`` on a downloaded ``trnMat.pkl`` runs
whatever its ``__reduce__`` names. This unpickler resolves a global only when it is on an
allow-list of the array and sparse-matrix classes the papers' formats need, so a pickle that
names ``os.system`` (or anything else) is refused before anything runs.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from kgrec.errors import DataError

_SPARSE = ("coo_matrix", "csr_matrix", "csc_matrix", "coo_array", "csr_array", "csc_array",
           "dok_matrix", "lil_matrix")
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {("numpy", "ndarray"), ("numpy", "dtype"),
     ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
     ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
     ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
     ("copyreg", "_reconstructor"), ("builtins", "object"),
     ("collections", "OrderedDict")}
    | {(module, name) for name in _SPARSE
       for module in ("scipy.sparse", f"scipy.sparse.{name[:3]}", f"scipy.sparse._{name[:3]}",
                      "scipy.sparse._arrays")}
    | {("numpy", name) for name in ("float16", "float32", "float64", "int8", "int16", "int32",
                                    "int64", "uint8", "uint16", "uint32", "uint64", "bool_")}
    | {("numpy.dtypes", f"{name}DType") for name in ("Float16", "Float32", "Float64", "Int8",
                                                     "Int16", "Int32", "Int64", "UInt8", "Bool")}
)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, stream: io.BufferedIOBase, path: Path):
        super().__init__(stream)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise DataError(self._path, f"pickle refers to {module}.{name}, which is not an array or "
                            "sparse-matrix class; refusing to load it (it could run code)")
        return super().find_class(module, name)


def safe_load(path: str | Path) -> Any:
    """Unpickle ``path`` admitting only numpy / scipy.sparse classes; errors name the file."""
    p = Path(path)
    try:
        with open(p, "rb") as handle:
            return _RestrictedUnpickler(handle, p).load()
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(p, "file not found") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, UnicodeDecodeError, MemoryError) as exc:
        raise DataError(p, f"not a readable pickle ({type(exc).__name__}: {exc})") from None
