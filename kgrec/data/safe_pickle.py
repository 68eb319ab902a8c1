"""The one way kgrec reads a pickle from outside: only numpy and scipy.sparse classes.

Pickle is code execution: a plain ``pickle.load`` on a downloaded ``trnMat.pkl`` runs
whatever its ``__reduce__`` names. This unpickler resolves a global only when it is on an
allow-list of the array and sparse-matrix classes the papers' formats need, so a pickle that
names ``os.system`` (or anything else) is refused before anything runs. ``find_class`` is
the one door: every opcode that reaches a global (GLOBAL, STACK_GLOBAL, INST, OBJ, EXT*)
goes through it, and persistent ids are refused by the base class.

What is left is allocation: a hostile pickle can still ask numpy for a large array, which
fails as a ``MemoryError`` (a :class:`DataError` here), and loaders must check the shapes
they get (users x items against the counts) before using them. Any failure to unpickle is a
one-line :class:`DataError` naming the file.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from kgrec.errors import DataError

# Not dok/lil: no paper ships them, and ``lil_matrix((10**9, 1))`` called through REDUCE
# builds a billion Python lists from a pickle of a few bytes.
_SPARSE = ("coo_matrix", "csr_matrix", "csc_matrix", "coo_array", "csr_array", "csc_array")
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
            named = " ".join(f"{module}.{name}".split())[:120]  # names may hold newlines
            raise DataError(self._path, f"pickle refers to {named}, which is not an array or "
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
    except IsADirectoryError:
        raise DataError(p, "is a directory, expected a pickle file") from None
    except OSError as exc:
        raise DataError(p, f"cannot read: {exc.strerror or exc}") from None
    except EOFError:
        raise DataError(p, "not a readable pickle (empty or truncated file)") from None
    except Exception as exc:  # noqa: BLE001  whatever a malformed stream makes numpy/scipy raise
        detail = " ".join(str(exc).split())[:200]  # one line, bounded
        if isinstance(exc, pickle.UnpicklingError) and "truncated" in detail:
            detail += " (the file is truncated: download it again)"
        raise DataError(p, f"not a readable pickle ({type(exc).__name__}: {detail})") from None
