"""The ``JNEUSAMPLE_*`` environment variables: their names, what each means, its default, and one typed reader each.

Every module reads them here (never ``os.environ`` directly), so that :data:`VARIABLES` is the complete list (the
README's "Environment variables" shows it; a test checks that every ``JNEUSAMPLE_`` name in the package is in it).
Setting one for a child process (the MPI relaunch, a test) uses the name constants below. Each reader looks at the
environment when called (a test or the relaunch may change it), and nothing here imports Jittor: ``backend.py``
reads these before it configures Jittor.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import InputError

CHUNK_POINTS = "JNEUSAMPLE_CHUNK_POINTS"
CUDNN = "JNEUSAMPLE_CUDNN"
DEVICE = "JNEUSAMPLE_DEVICE"
FUSED_LINEAR = "JNEUSAMPLE_FUSED_LINEAR"
NO_RELAUNCH = "JNEUSAMPLE_NO_RELAUNCH"
PARAM_DIGEST_DIR = "JNEUSAMPLE_PARAM_DIGEST_DIR"
RELAUNCHED = "JNEUSAMPLE_RELAUNCHED"
STOP_FILE = "JNEUSAMPLE_STOP_FILE"
TF32 = "JNEUSAMPLE_TF32"
VERBOSE = "JNEUSAMPLE_VERBOSE"

DEVICE_CHOICES = ("auto", "cpu", "cuda")
"""The values of ``JNEUSAMPLE_DEVICE``."""


@dataclass(frozen=True)
class Variable:
    """One ``JNEUSAMPLE_*`` variable, as the docs list it."""

    name: str
    values: str
    """What it may be set to."""
    default: str
    """What unset means."""
    meaning: str
    internal: bool = False
    """Set by JNeuSample itself for its child processes, or a test hook: not for users."""


VARIABLES: tuple[Variable, ...] = (
    Variable(DEVICE, "auto|cpu|cuda", "auto",
             "device: `auto` is CUDA when a GPU, a real `nvcc` and cuBLAS/cuRAND are there; `cuda` that cannot "
             "work is a one-line error naming what is missing"),
    Variable(TF32, "1", "off", "TF32 matmuls on CUDA (Jittor's `use_tensorcore`; recorded in eval results)"),
    Variable(CHUNK_POINTS, "P (a positive integer)", "`render.chunk_points` on the CPU, from free device memory "
             "on CUDA", "MLP points per render chunk"),
    Variable(CUDNN, "1", "off", "let Jittor load cuDNN (the MLPs need only cuBLAS and cuRAND)"),
    Variable(FUSED_LINEAR, "0", "on", "0: Jittor's own Linear and ReLU ops instead of the fused oneDNN "
             "forward/backward on the CPU (`fields/fused.py`)"),
    Variable(NO_RELAUNCH, "1", "off", "train as one process even when the preset asks for several ranks "
             "(`train.cpu_processes`)"),
    Variable(VERBOSE, "1", "off", "Jittor's own compile and info logs (and COLMAP's in `jneusample process`)"),
    Variable(RELAUNCHED, "the rank count", "unset", "set by train/demo on the mpirun ranks it starts: they do not "
             "relaunch again, and leave the signal reports to their parent", internal=True),
    Variable(STOP_FILE, "a file path", "unset", "set by the relaunching parent: the file it writes a stop "
             "signal's number into, read by every rank at every step", internal=True),
    Variable(PARAM_DIGEST_DIR, "a folder", "unset", "a test hook (MPI tests): each rank writes `rank<r>.json`, "
             "digests of its parameters, there", internal=True),
)
"""Every ``JNEUSAMPLE_*`` variable the package reads, users' first."""

NAMES: frozenset[str] = frozenset(variable.name for variable in VARIABLES)


def _value(name: str) -> str:
    return os.environ.get(name, "")


def device() -> str:
    """``JNEUSAMPLE_DEVICE``: auto, cpu or cuda (auto when unset or empty; case and spaces ignored); anything else
    is a one-line InputError."""
    choice = _value(DEVICE).strip().lower() or "auto"
    if choice not in DEVICE_CHOICES:
        raise InputError(f"{DEVICE}={choice!r}: expected auto, cpu or cuda")
    return choice


def tf32() -> bool:
    """``JNEUSAMPLE_TF32=1``: float32 matmuls may use TF32 tensor cores on CUDA."""
    return _value(TF32) == "1"


def cudnn() -> bool:
    """``JNEUSAMPLE_CUDNN=1``: Jittor may link cuDNN."""
    return _value(CUDNN) == "1"


def verbose() -> bool:
    """``JNEUSAMPLE_VERBOSE=1``: Jittor's (and COLMAP's) own logs are shown."""
    return _value(VERBOSE) == "1"


def fused_linear() -> bool:
    """False when ``JNEUSAMPLE_FUSED_LINEAR=0`` asks for Jittor's own ops; True otherwise (the default)."""
    return _value(FUSED_LINEAR) != "0"


def no_relaunch() -> bool:
    """``JNEUSAMPLE_NO_RELAUNCH=1``: train and demo stay one process."""
    return _value(NO_RELAUNCH) == "1"


def relaunched() -> bool:
    """Whether this process is a rank of JNeuSample's own relaunch (``JNEUSAMPLE_RELAUNCHED`` set, non-empty)."""
    return bool(_value(RELAUNCHED))


def stop_file() -> str | None:
    """The stop file the relaunching parent writes into (``JNEUSAMPLE_STOP_FILE``); None when unset or empty."""
    return _value(STOP_FILE) or None


def param_digest_dir() -> str | None:
    """The folder of the parameter-digest test hook (``JNEUSAMPLE_PARAM_DIGEST_DIR``); None when unset or empty."""
    return _value(PARAM_DIGEST_DIR) or None


def chunk_points() -> int | None:
    """``JNEUSAMPLE_CHUNK_POINTS``: points per render chunk (None when unset or blank); anything but a positive
    integer is a one-line InputError."""
    value = _value(CHUNK_POINTS).strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise InputError(f"{CHUNK_POINTS}={value!r}: expected a positive number of points")
    return int(value)


def markdown_table() -> str:
    """:data:`VARIABLES` as the Markdown table the README shows (a test checks that it does)."""
    rows = ["| variable | values | unset | meaning |", "|---|---|---|---|"]
    for variable in VARIABLES:
        values = variable.values.replace("|", "\\|")
        meaning = f"internal: {variable.meaning}" if variable.internal else variable.meaning
        rows.append(f"| `{variable.name}` | {values} | {variable.default} | {meaning} |")
    return "\n".join(rows)


__all__ = ["CHUNK_POINTS", "CUDNN", "DEVICE", "DEVICE_CHOICES", "FUSED_LINEAR", "NAMES", "NO_RELAUNCH",
           "PARAM_DIGEST_DIR", "RELAUNCHED", "STOP_FILE", "TF32", "VARIABLES", "VERBOSE", "Variable", "chunk_points",
           "cudnn", "device", "fused_linear", "markdown_table", "no_relaunch", "param_digest_dir", "relaunched",
           "stop_file", "tf32", "verbose"]
