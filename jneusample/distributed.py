"""MPI helpers (no-ops in a single process): sharding work across ranks and gathering results on rank 0."""
from __future__ import annotations

import pickle
from typing import Any, Sequence

import numpy as np

from . import backend
from .backend import jt


def shard(items: Sequence[Any]) -> list[Any]:
    """This rank's share of ``items`` (round-robin), all of them in a single process."""
    return list(items[backend.rank()::backend.world_size()])


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (plain data), in rank order, on every rank. In a single process: ``[obj]``.

    Implemented with one all-reduce of a zero-padded byte buffer per rank (Jittor's MPI ops reduce arrays only).
    """
    if not backend.in_mpi():
        return [obj]
    data = np.frombuffer(pickle.dumps(obj), dtype=np.uint8)
    size = backend.world_size()
    lengths = np.zeros(size, np.float64)
    lengths[backend.rank()] = len(data)
    lengths = jt.array(lengths).mpi_all_reduce("add").numpy().astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    buffer = np.zeros(int(offsets[-1]), np.int32)
    buffer[offsets[backend.rank()]:offsets[backend.rank() + 1]] = data
    buffer = jt.array(buffer).mpi_all_reduce("add").numpy().astype(np.uint8)
    from . import safe_pickle

    return [safe_pickle.loads(buffer[offsets[r]:offsets[r + 1]].tobytes()) for r in range(size)]
