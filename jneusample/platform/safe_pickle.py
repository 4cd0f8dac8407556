"""Unpickling that admits plain data and NumPy arrays only.

Checkpoints and the LPIPS weight files are pickles. ``pickle.load`` would run any code a file names, so we
load them with an allow-list: builtins containers and scalars, and the handful of NumPy callables that
rebuild an ``ndarray`` / dtype / scalar. Anything else raises :class:`pickle.UnpicklingError`.
"""
from __future__ import annotations

import io
import pickle
from typing import IO, Any

_ALLOWED = {
    ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "int"), ("builtins", "float"), ("builtins", "complex"),
    ("builtins", "str"), ("builtins", "bytes"), ("builtins", "bytearray"), ("builtins", "bool"),
    ("builtins", "slice"),
    ("collections", "OrderedDict"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}


class _AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED or (module == "numpy" and name.endswith("DType")) or (
            module == "numpy.dtypes" and name.endswith("DType")
        ):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain data and NumPy arrays are allowed")


def load(file: IO[bytes]) -> Any:
    """Unpickle ``file`` admitting only plain Python data and NumPy arrays."""
    return _AllowListUnpickler(file).load()


def loads(data: bytes) -> Any:
    return load(io.BytesIO(data))
