"""MPI helpers: sharding work across ranks, gathering results on every rank, keeping parameters identical.

Every function is a no-op (or the obvious single-process answer) outside ``mpirun``. Inside an MPI job, the
collective ones (``gather_objects``, ``barrier``, ``any_rank``, ``broadcast_parameters``,
``check_parameters_in_sync``) must be called by **every** rank, in the same order: an MPI collective that one
rank skips blocks the others forever.

Jittor is lazy: an MPI op runs when something needs its result, not when it is written. Each helper here
therefore fetches its result (``.numpy()`` or ``jt.sync``) before returning, so that the collective happens at
the same point of the program on every rank (see ``docs/distributed.md``).

The launch checks (:func:`check_mpi_environment` and friends) live in :mod:`jneusample.platform.startup`, which
``backend.py`` calls before Jittor is imported; they are re-exported here.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import environment
from . import backend, fileio
from .startup import (  # noqa: F401  (re-exported: the launch checks used to live here)
    INSTALL_HINT, check_mpi_environment, launcher_world_size, mpi_import_failed, mpi_problem, mpi_requested,
)
from . import safe_pickle

DIGEST_DIR_ENV = environment.PARAM_DIGEST_DIR
"""When set, :func:`dump_parameter_digest` makes every rank write ``rank<r>.json`` there (tests)."""


# --------------------------------------------------------------------------------------------------------
# Rank queries and collectives
# --------------------------------------------------------------------------------------------------------

def rank() -> int:
    return backend.rank()


def world_size() -> int:
    return backend.world_size()


def is_root() -> bool:
    return rank() == 0


def shard(items: Sequence[Any]) -> list[Any]:
    """This rank's share of ``items`` (round-robin: rank r gets items r, r+W, r+2W, ...); all in one process."""
    return list(items[rank()::world_size()])


def _all_reduce_sum(array: np.ndarray) -> np.ndarray:
    """Element-wise sum over ranks (float64 or int32 arrays; Jittor maps int64 to the wrong MPI type)."""
    jt = backend.jt
    assert array.dtype in (np.float64, np.float32, np.int32), array.dtype
    return jt.array(array).mpi_all_reduce("add").numpy()


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (plain data: what :mod:`jneusample.platform.safe_pickle` loads), in rank order, on every rank.

    In a single process: ``[obj]``. Jittor's MPI ops reduce arrays only, so this is two sum all-reduces:
    the byte lengths (float64, exact below 2**53), then one buffer in which rank r fills only its own
    segment with its pickle and every other rank contributes zeros, so the sum is the concatenation.
    Bytes are packed four to an int32 word (segments padded to whole words): 0 + w = w exactly for any
    int32 w, and int32 is a type Jittor's MPI op supports (uint8 is not).
    """
    if not backend.in_mpi():
        return [obj]
    size, me = world_size(), rank()
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    lengths = np.zeros(size, np.float64)
    lengths[me] = len(data)
    lengths = _all_reduce_sum(lengths).astype(np.int64)
    words = (lengths + 3) // 4
    offsets = np.concatenate([[0], np.cumsum(words)]).astype(np.int64)
    buffer = np.zeros(int(offsets[-1]), np.int32)
    padded = data + b"\0" * (int(words[me]) * 4 - len(data))
    buffer[offsets[me]:offsets[me + 1]] = np.frombuffer(padded, dtype=np.int32)
    raw = _all_reduce_sum(buffer).astype(np.int32).tobytes()
    return [safe_pickle.loads(raw[offsets[r] * 4:offsets[r] * 4 + lengths[r]]) for r in range(size)]


def barrier() -> None:
    """Wait until every rank got here."""
    if backend.in_mpi():
        _all_reduce_sum(np.zeros(1, np.float64))


def any_rank(flag: bool) -> bool:
    """True on every rank when ``flag`` is true on at least one (a collective decision, e.g. stop now)."""
    if not backend.in_mpi():
        return bool(flag)
    return bool(_all_reduce_sum(np.array([1.0 if flag else 0.0]))[0] > 0)


def mean_over_ranks(value: float) -> float:
    """The mean of ``value`` over all ranks, the same number on every rank (collective); ``value`` outside MPI.

    The trainer's clock goes through this so that every rank takes the same time-based decisions (stop now,
    this step's learning rate) even though their local clocks differ by a few milliseconds.
    """
    if not backend.in_mpi():
        return float(value)
    return float(_all_reduce_sum(np.array([float(value)]))[0]) / backend.world_size()


def model_vars(model) -> list[tuple[str, Any]]:
    """(name, var) of every parameter and buffer, in a fixed (sorted) order identical on every rank."""
    return sorted(model.state_dict().items())


def broadcast_parameters(model, root: int = 0) -> None:
    """Overwrite every rank's parameters and buffers with rank ``root``'s (no-op in a single process).

    Needed once after building or loading a model: Jittor's own step-0 broadcast (in ``Optimizer.backward``)
    runs *after* the first gradients were computed on each rank's own initialisation.
    """
    if not backend.in_mpi():
        return
    variables = [value for _, value in model_vars(model)]
    for value in variables:
        value.assign(value.mpi_broadcast(root))
    backend.jt.sync(variables)  # run the broadcasts now, in this order, on every rank


def sync_parameters(model) -> None:
    """Execute pending updates of the parameters now (including the optimizer's gradient all-reduces).

    Jittor would otherwise run the last step's all-reduces only when a parameter is next read, which need
    not happen at the same point on every rank (rank 0 reads them to write a checkpoint, the others don't):
    the ranks would then wait in different collectives for ever.
    """
    if backend.in_mpi():
        backend.jt.sync([value for _, value in model_vars(model)])


def parameter_digest(model) -> str:
    """SHA-256 of every parameter and buffer (names, shapes, float32 bytes), for cross-rank comparisons."""
    digest = hashlib.sha256()
    for name, value in model_vars(model):
        array = np.ascontiguousarray(value.numpy(), dtype=np.float32)
        digest.update(name.encode())
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def check_parameters_in_sync(model, digests: Sequence[str] | None = None) -> list[str]:
    """Every rank's parameter digest; when they differ, warn (rank 0) and re-broadcast rank 0's parameters.

    ``digests``: already gathered digests (to save a collective); gathered here when None. Returns the digests
    as they were before any repair, so a caller can record them. Collective.
    """
    if digests is None:
        digests = gather_objects(parameter_digest(model))
    digests = list(digests)
    if len(set(digests)) > 1:
        if is_root():
            print(f"warning: parameters differ across MPI ranks ({len(set(digests))} distinct digests); "
                  "re-broadcasting rank 0's parameters", file=sys.stderr)
        broadcast_parameters(model)
    return digests


_initial_digest: str | None = None


def note_initial_parameters(model) -> None:
    """Remember the digest of the parameters training starts from (only when the test hook is on)."""
    global _initial_digest
    if environment.param_digest_dir():
        _initial_digest = parameter_digest(model)


def dump_parameter_digest(model, step: int, directory: str | None = None) -> Path | None:
    """Write ``rank<r>.json`` with this rank's parameter digest into ``$JNEUSAMPLE_PARAM_DIGEST_DIR``.

    A test hook that does not rely on any collective: each rank writes what it holds now (``digest``) and
    what it started from (``initial_digest``, see :func:`note_initial_parameters`). Not collective.
    """
    directory = directory or environment.param_digest_dir()
    if not directory:
        return None
    path = Path(directory) / f"rank{rank()}.json"
    record = {"rank": rank(), "world_size": world_size(), "step": int(step), "digest": parameter_digest(model),
              "initial_digest": _initial_digest}
    fileio.atomic_write_text(path, json.dumps(record) + "\n")  # a test reads it while other ranks train
    return path


def effective_rays_per_step(rays_per_step: int) -> int:
    """Rays that contribute to one optimizer step over all ranks (gradients are averaged across ranks)."""
    return int(rays_per_step) * world_size()


__all__ = [
    "INSTALL_HINT", "any_rank", "barrier", "broadcast_parameters", "check_mpi_environment",
    "check_parameters_in_sync", "dump_parameter_digest", "effective_rays_per_step", "gather_objects",
    "is_root", "launcher_world_size", "model_vars", "mpi_import_failed", "mpi_problem", "mpi_requested",
    "note_initial_parameters",
    "parameter_digest", "rank", "shard", "sync_parameters", "world_size",
]
