"""Unpickling that admits plain data and NumPy arrays only.

Checkpoints and the LPIPS weight files are pickles. ``pickle.load`` would run any code a file names, so we
load them with an allow-list: builtins containers and scalars, and the handful of NumPy callables that
rebuild an ``ndarray`` / dtype / scalar. Anything else raises :class:`pickle.UnpicklingError`.

Hostile sizes are refused before anything is allocated: the C unpickler allocates a counted bytes/string
opcode's full length *before* reading it (a 40-byte file declaring 20 GB gets the kernel's OOM killer, not an
error), and ``bytearray(n)`` / ``bytes(n)`` reached through REDUCE would zero-fill ``n`` bytes. So the opcode
stream is walked first (:func:`pickletools.genops` reads each counted argument as far as the data goes and
fails on a length beyond the end), and the size-taking constructors refuse an integer argument.
"""
from __future__ import annotations

import io
import pickle
import pickletools
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


def _sized_constructor(kind: type) -> Any:
    """``kind`` (bytes or bytearray) that refuses ``kind(n)``: n zero bytes is an allocation the file does not pay for."""
    def build(*args: Any) -> Any:
        if args and isinstance(args[0], int):
            raise pickle.UnpicklingError(f"refusing {kind.__name__}({args[0]}): a size, not data")
        return kind(*args)
    return build


_SIZED = {("builtins", "bytes"): _sized_constructor(bytes), ("builtins", "bytearray"): _sized_constructor(bytearray)}


class _AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SIZED:
            return _SIZED[(module, name)]
        if (module, name) in _ALLOWED or (module == "numpy" and name.endswith("DType")) or (
            module == "numpy.dtypes" and name.endswith("DType")
        ):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain data and NumPy arrays are allowed")


def load(file: IO[bytes]) -> Any:
    """Unpickle ``file`` admitting only plain Python data and NumPy arrays."""
    return loads(file.read())


def loads(data: bytes) -> Any:
    """Unpickle ``data`` admitting only plain Python data and NumPy arrays (lengths checked against the data first)."""
    try:
        for _ in pickletools.genops(data):
            pass
    except ValueError as exc:  # genops' own words: "expected N bytes in a bytes8, but only M remain", bad opcode...
        raise pickle.UnpicklingError(" ".join(str(exc).split())) from None
    return _AllowListUnpickler(io.BytesIO(data)).load()
