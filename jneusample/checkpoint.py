"""Checkpoints: model, optimizer, step, RNG state and config in one file, written atomically.

A checkpoint is a pickle of plain data and NumPy arrays only (loaded through :mod:`jneusample.safe_pickle`):

    {"format": "jneusample-checkpoint", "version": 1, "step": int, "config": dict,
     "model": {name: ndarray}, "optimizer": {...}, "rng": {...}, "metrics": {...}}

It is written to a temporary file in the same folder, flushed and fsynced, then renamed over the final name:
a crash (even ``kill -9``) leaves either the previous checkpoint or the new one, never a torn file.
"""
from __future__ import annotations

import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from . import safe_pickle
from .errors import InputError

FORMAT = "jneusample-checkpoint"
VERSION = 1
_NAME = re.compile(r"^step_(\d{8})\.ckpt$")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file + fsync + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results should be readable like any file
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return checkpoint_dir(run_dir) / f"step_{step:08d}.ckpt"


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of the run's checkpoints, oldest first (temporary files are ignored)."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry))
    return sorted(found)


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1][1] if found else None


def save_checkpoint(run_dir: Path, state: dict[str, Any], keep: int = 3) -> Path:
    """Write ``state`` as the checkpoint of ``state['step']`` and prune all but the ``keep`` newest."""
    payload = {"format": FORMAT, "version": VERSION, **state}
    path = checkpoint_path(run_dir, int(state["step"]))
    atomic_write_bytes(path, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    for _, old in list_checkpoints(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, or raise a one-line InputError saying what is wrong."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            state = safe_pickle.load(handle)
    except FileNotFoundError:
        raise InputError(f"{path}: checkpoint file is missing") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a checkpoint file") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError,
            IndexError, KeyError, MemoryError) as exc:
        raise InputError(f"{path}: not a readable JNeuSample checkpoint (truncated or foreign file: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError(f"{path}: not a JNeuSample checkpoint (foreign file)")
    if state.get("version") != VERSION:
        raise InputError(f"{path}: checkpoint version {state.get('version')} is not supported (expected {VERSION})")
    for key in ("step", "config", "model"):
        if key not in state:
            raise InputError(f"{path}: checkpoint lacks {key!r}")
    return state


def model_state(model) -> dict[str, np.ndarray]:
    """The model's parameters as NumPy arrays, by name."""
    return {name: value.numpy().copy() for name, value in model.state_dict().items()}


def load_model_state(model, arrays: dict[str, np.ndarray], source: Path) -> None:
    """Copy ``arrays`` into ``model``; a missing, extra or mis-shaped parameter is an InputError naming it."""
    current = model.state_dict()
    missing = sorted(set(current) - set(arrays))
    extra = sorted(set(arrays) - set(current))
    if missing or extra:
        raise InputError(
            f"{source}: checkpoint is for another model shape (missing: {', '.join(missing[:4]) or '-'}; "
            f"unexpected: {', '.join(extra[:4]) or '-'})"
        )
    for name, value in current.items():
        array = np.asarray(arrays[name])
        if tuple(array.shape) != tuple(value.shape):
            raise InputError(
                f"{source}: checkpoint is for another model shape ({name} is {tuple(array.shape)}, "
                f"the config makes {tuple(value.shape)})"
            )
    from .backend import jt

    for name, value in current.items():
        value.assign(jt.array(np.asarray(arrays[name], dtype=np.float32)))
