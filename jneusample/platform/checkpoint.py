"""Checkpoints: model, optimizer, step, RNG state and config in one file, written atomically.

A checkpoint is a pickle of plain data and NumPy arrays only (loaded through :mod:`jneusample.platform.safe_pickle`):

    {"format": "jneusample-checkpoint", "version": 1, "step": int, "config": dict,
     "model": {name: ndarray}, "optimizer": {...}, "rng": {...}, "metrics": {...},
     "val_psnr": float}            # only when training validated at this step

It is written to a temporary file in the same folder, flushed and fsynced, then renamed over the final name:
a crash (even ``kill -9``) leaves either the previous checkpoint or the new one, never a torn file.

``RUN/checkpoints/val.json`` indexes the validation PSNR of the checkpoints that have one, ``{"STEP": psnr}``
(written atomically after the checkpoint itself), so that ``eval --checkpoint best`` can choose without loading
every checkpoint. Pruning never deletes the checkpoint with the best validation PSNR.
"""
from __future__ import annotations

import pickle
import re
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import safe_pickle
from ..errors import InputError
from .fileio import atomic_write_bytes, read_json, write_json

FORMAT = "jneusample-checkpoint"
VERSION = 1
_NAME = re.compile(r"^step_(\d{8})\.ckpt$")
VAL_INDEX = "val.json"
"""Name of the validation index in the checkpoint folder: ``{"STEP": val_psnr}``."""


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


def val_index_path(run_dir: Path) -> Path:
    return checkpoint_dir(run_dir) / VAL_INDEX


def read_val_index(run_dir: Path) -> dict[int, float]:
    """``{step: val_psnr}`` of the run's validated checkpoints (empty when none was recorded).

    Entries whose value is not a finite number (a NaN PSNR is written as null) are left out.
    """
    path = val_index_path(run_dir)
    if not path.exists():
        return {}
    values = read_json(path)
    if not isinstance(values, dict):
        raise InputError(f"{path}: expected a JSON object {{step: val_psnr}}")
    index = {}
    for key, value in values.items():
        try:
            step = int(key)
        except ValueError:
            raise InputError(f"{path}: {key!r} is not a step number") from None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
            index[step] = float(value)
    return index


def record_val_psnr(run_dir: Path, step: int, val_psnr: float) -> None:
    """Add ``step: val_psnr`` to ``val.json`` (atomically; a step recorded before, e.g. by a run that crashed
    and was resumed, is overwritten)."""
    path = val_index_path(run_dir)
    try:
        values = read_json(path) if path.exists() else {}
    except InputError:  # cut short by hand or a foreign file: the checkpoints' own val_psnr remain the record
        values = {}
    if not isinstance(values, dict):
        values = {}
    values[str(int(step))] = float(val_psnr)
    write_json(path, dict(sorted(values.items(), key=lambda item: int(item[0]))))


def best_checkpoint(run_dir: Path) -> tuple[int, float, Path] | None:
    """(step, val_psnr, path) of the existing checkpoint with the highest recorded validation PSNR (the newest
    of equal ones); None when no existing checkpoint has one."""
    index = read_val_index(run_dir)
    candidates = [(index[step], step, path) for step, path in list_checkpoints(run_dir) if step in index]
    if not candidates:
        return None
    psnr, step, path = max(candidates, key=lambda item: (item[0], item[1]))
    return step, psnr, path


def non_finite_parameters(arrays: dict[str, np.ndarray]) -> list[str]:
    """Names of the parameters holding NaN or infinity."""
    return [name for name, value in arrays.items()
            if np.asarray(value).dtype.kind in "fc" and not np.all(np.isfinite(value))]


def save_checkpoint(run_dir: Path, state: dict[str, Any], keep: int = 3) -> Path:
    """Write ``state`` as the checkpoint of ``state['step']`` and prune all but the ``keep`` newest and the one
    with the best validation PSNR.

    A ``state['val_psnr']`` (training validated at this step) is also recorded in ``val.json``. Non-finite
    parameters (a diverged run) are refused before anything is written or pruned, and older checkpoints are
    pruned only after the new one is complete: a failure (disk full) keeps the last valid one.
    """
    run_dir = Path(run_dir)
    step = int(state["step"])
    bad = non_finite_parameters(state.get("model", {}))
    previous = latest_checkpoint(run_dir)
    kept = f"the last checkpoint, {previous.name}, is kept" if previous is not None else "no checkpoint was written"
    if bad:
        raise InputError(f"training diverged by step {step}: parameter {bad[0]} holds NaN or infinity ({kept}); "
                         "lower train.lr and train again")
    payload = {"format": FORMAT, "version": VERSION, **state}
    path = checkpoint_path(run_dir, step)
    try:
        atomic_write_bytes(path, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    except InputError as exc:
        raise InputError(f"{exc} ({kept})") from None
    val_psnr = state.get("val_psnr")
    if val_psnr is not None:
        record_val_psnr(run_dir, step, val_psnr)
    try:
        best = best_checkpoint(run_dir)
    except InputError:  # an unreadable val.json: the best is unknown, so nothing is pruned this time
        return path
    for old_step, old in list_checkpoints(run_dir)[:-keep]:
        if best is None or old_step != best[0]:
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
    except PermissionError:
        raise InputError(f"{path}: checkpoint file is not readable (permission denied)") from None
    except Exception as exc:  # noqa: BLE001  (the allow-list runs no code: whatever fails is the file's fault,
        # and hostile bytes raise more kinds than pickle documents, e.g. OverflowError for a huge length field)
        reason = " ".join(str(exc).split()) or type(exc).__name__  # one line, never empty
        raise InputError(f"{path}: not a readable JNeuSample checkpoint (truncated or foreign file: "
                         f"{reason})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError(f"{path}: not a JNeuSample checkpoint (foreign file)")
    if state.get("version") != VERSION:
        raise InputError(f"{path}: checkpoint version {state.get('version')} is not supported (expected {VERSION})")
    for key in ("step", "config", "model"):
        if key not in state:
            raise InputError(f"{path}: checkpoint lacks {key!r}")
    if not isinstance(state["model"], dict):
        raise InputError(f"{path}: checkpoint's model is not a table of parameters")
    bad = non_finite_parameters(state["model"])
    if bad:
        raise InputError(f"{path}: checkpoint holds non-finite weights ({bad[0]} has NaN or infinity; "
                         "the run diverged)")
    return state


def load_newest_checkpoint(run_dir: Path, note: Callable[[str], None] | None = None
                           ) -> tuple[Path, dict[str, Any]] | None:
    """The newest of the run's checkpoints that loads, as (path, state); None when the run has none.

    A newer file that does not load (truncated, foreign, non-finite) is skipped with one line through ``note``
    (default: ``warning: ...`` on stderr) naming it and why. When none loads, only the newest one's error is
    raised (no warnings before it: one line in all). A file that disappears while we look (pruned by a trainer
    writing the run) is skipped silently: a newer complete one has replaced it.
    """
    if note is None:
        def note(message: str) -> None:
            print(f"warning: {message}", file=sys.stderr)
    skipped: list[tuple[Path, InputError]] = []
    for _, path in reversed(list_checkpoints(run_dir)):
        try:
            state = load_checkpoint(path)
        except InputError as exc:
            if path.exists():
                skipped.append((path, exc))
            continue
        for bad, exc in skipped:  # said only now that an older one loads: otherwise the error below says it
            note(f"skipping {bad}: {str(exc).removeprefix(str(bad) + ': ')}")
        return path, state
    if skipped:
        raise InputError(f"{run_dir}: no checkpoint of the run loads (newest: {skipped[0][1]})")
    return None


def model_state(model) -> dict[str, np.ndarray]:
    """The model's parameters as NumPy arrays, by name."""
    return {name: value.numpy().copy() for name, value in model.state_dict().items()}


def load_model_state(model, arrays: dict[str, np.ndarray], source: Path) -> None:
    """Copy ``arrays`` into ``model``; a missing, extra or mis-shaped parameter is an InputError naming it. Names
    of older checkpoints are first translated by the model (``upgrade_state``, where it has one)."""
    if hasattr(model, "upgrade_state"):
        arrays = model.upgrade_state(arrays)
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
    # deferred: reading a checkpoint's metadata needs no Jittor
    from .backend import jt

    for name, value in current.items():
        value.assign(jt.array(np.asarray(arrays[name], dtype=np.float32)))
