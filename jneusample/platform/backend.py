"""Configure Jittor before anything imports it.

Every module of the package imports Jittor through this one (``from jneusample.platform.backend import jt``) so that
the choices below are made exactly once, before Jittor's own import-time set-up runs:

* **Device.** ``JNEUSAMPLE_DEVICE=auto|cpu|cuda`` (default auto). :func:`jneusample.platform.startup.resolve_device`
  decides, so that Jittor never guesses: CUDA only with a GPU, a real ``nvcc`` and cuBLAS/cuRAND; on the CPU,
  ``nvcc_path=""`` hides ``nvcc`` (these machines have one but no GPU) and stops Jittor from downloading its own
  CUDA. ``cuda`` that cannot work is a one-line :class:`~jneusample.errors.InputError` (raised when this module
  is first imported, which the commands do inside their ``run``, so the CLI prints ``error: ...``).
* **No downloads on CUDA.** cutt, cutlass and NCCL (which Jittor would download) are switched off, and so are
  cuDNN, cuFFT and cuSPARSE (``conv_opt=1``: Jittor then links only cuBLAS and cuRAND; the MLPs need cuBLAS;
  LPIPS's convolutions run as Jittor's own kernels). ``JNEUSAMPLE_CUDNN=1`` links cuDNN too (it must be
  installed). CUDA 13 removed two ``cudaDeviceProp`` fields that Jittor 1.3.11's ``helper_cuda.h`` reads; a
  forced-include header maps them (:func:`_cuda13_compat_flags`). Details: ``docs/performance.md``.
* **TF32.** ``JNEUSAMPLE_TF32=1`` lets cuBLAS use TF32 tensor cores for float32 matmuls on CUDA (Jittor's
  ``use_tensorcore`` flag; off by default; :data:`TF32` says whether it is on).
* **oneDNN.** Jittor's CPU matmul is many times faster with oneDNN, which Jittor downloads at first use; offline
  that fails. We point Jittor at Debian's ``libdnnl`` through the cache folder layout it looks for, so it never
  attempts a download. Without ``libdnnl`` we warn once and fall back.
* **Noise.** Jittor's info logs (compile progress, banner) are silenced unless ``JNEUSAMPLE_VERBOSE=1``.
"""
from __future__ import annotations

import ctypes
import glob
import os
import shutil
import signal
import subprocess
import sys
import warnings
from functools import lru_cache

from .. import environment
from . import fileio
from ..errors import InputError
from .startup import (CudaToolkit, check_mpi_environment, gpu_present, jittor_home, mpi_import_failed, mpi_requested,
    one_line, resolve_device)

_DNNL_LIB_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libdnnl.so",
    "/usr/lib/aarch64-linux-gnu/libdnnl.so",
    "/usr/lib/libdnnl.so",
    "/usr/local/lib/libdnnl.so",
)
_DNNL_FOLDER = "dnnl_lnx_2.2.0_cpu_gomp"  # the name Jittor's installer checks for before downloading
TF32_ENV = environment.TF32
CUDNN_ENV = environment.CUDNN

ONEDNN_AVAILABLE = False
DEVICE = "cpu"
"""``"cpu"`` or ``"cuda"``: where Jittor runs in this process."""
CUDA_TOOLKIT: CudaToolkit | None = None
"""The CUDA toolkit Jittor was given (CUDA only)."""
DEVICE_NOTE: str | None = None
"""Why ``auto`` chose the CPU although a GPU is present (None otherwise)."""
TF32 = False
"""True when float32 matmuls may use TF32 tensor cores (``JNEUSAMPLE_TF32=1`` on CUDA)."""

# Render chunks on CUDA (see render_chunk_points).
BYTES_PER_CHUNK_POINT = 3700
"""Memory per MLP point of a render chunk assumed on the GPU, bytes. On the CPU a render's peak host memory is
≈ 150 MiB + 2.75 KB per chunk point (N=192, paper widths; ``python benchmarks/render_memory.py``,
``benchmarks/results/render_memory.json``); 3700 keeps a third in reserve until ``benchmarks/gpu_check.py``
measures it on a GPU."""
CUDA_MEMORY_FRACTION = 0.5
"""Share of the free device memory (at the first call) one render chunk may use."""
CUDA_CHUNK_POINTS_MAX = 1 << 22
"""Upper bound of a CUDA render chunk, MLP points (4.2M points ≈ 15 GiB): larger gains nothing on one GPU."""
CUDA_CHUNK_POINTS_MIN = 1 << 14


def _wire_onednn() -> bool:
    """Make Jittor use the system oneDNN instead of downloading its own. Returns True when available."""
    lib = next((p for p in _DNNL_LIB_CANDIDATES if os.path.exists(p)), None)
    if lib is None or not os.path.exists("/usr/include/dnnl.hpp"):
        return False
    home = os.path.join(jittor_home(), ".cache", "jittor", "mkl", _DNNL_FOLDER)  # where Jittor will look
    try:
        os.makedirs(os.path.join(home, "lib"), exist_ok=True)
        include = os.path.join(home, "include")
        if not os.path.lexists(include):
            os.symlink("/usr/include", include)
        target = os.path.join(home, "lib", "libmkldnn.so")
        if not os.path.lexists(target):
            os.symlink(lib, target)
    except OSError as exc:  # a read-only home: fall back to the slow path, but say why
        warnings.warn(f"could not wire oneDNN into Jittor's cache ({exc})")
        return False
    return True


_CUDA13_COMPAT = """\
/* Written by jneusample/platform/backend.py. CUDA 13 removed cudaDeviceProp::computeMode and ::clockRate, which Jittor
 * 1.3.11's extern/cuda/inc/helper_cuda.h reads (only to pick a default device, which Jittor does not use).
 * Map them onto fields that still exist so that Jittor's sources compile; no other code uses these names. */
#pragma once
#define computeMode major
#define clockRate multiProcessorCount
"""


def _cuda13_compat_flags() -> str:
    """Compiler flags that let Jittor 1.3.11 compile against CUDA >= 13 (a forced-include header)."""
    folder = os.path.join(os.path.expanduser("~"), ".cache", "jneusample")
    path = os.path.join(folder, "jittor_cuda13_compat.h")
    try:
        os.makedirs(folder, exist_ok=True)
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if current != _CUDA13_COMPAT:
            fileio.atomic_write_text(path, _CUDA13_COMPAT)  # other processes may read it while it is written
    except OSError as exc:
        raise InputError(f"cannot write {path} (needed to build Jittor for CUDA 13): {exc}") from None
    except InputError as exc:  # fileio's one line (disk full: PATH, or PATH: cannot write (...))
        raise InputError(f"{exc} (needed to build Jittor for CUDA 13)") from None
    return f"-include {path}"


def _configure() -> None:
    global ONEDNN_AVAILABLE, DEVICE, CUDA_TOOLKIT, DEVICE_NOTE
    if "jittor" in sys.modules:
        return  # somebody imported Jittor first; respect their set-up
    decision = resolve_device()
    DEVICE, CUDA_TOOLKIT, DEVICE_NOTE = decision.device, decision.toolkit, decision.note
    use_gpu = DEVICE == "cuda"
    if use_gpu:
        toolkit = decision.toolkit
        os.environ["nvcc_path"] = toolkit.nvcc  # the real binary: Jittor finds lib64/ and include/ beside it
        if not environment.cudnn():
            os.environ.setdefault("conv_opt", "1")  # link cuBLAS + cuRAND only (no cuDNN, cuFFT, cuSPARSE)
        if toolkit.version and toolkit.version >= (13, 0):
            flags = _cuda13_compat_flags()
            if flags not in os.environ.get("cc_flags", ""):
                os.environ["cc_flags"] = (os.environ.get("cc_flags", "") + " " + flags).strip()
    else:
        os.environ["nvcc_path"] = ""  # no CUDA, and no download of Jittor's own CUDA (install_cuda)
        if DEVICE_NOTE:
            print(f"warning: {DEVICE_NOTE}", file=sys.stderr)
    os.environ.setdefault("use_cutt", "0")
    os.environ.setdefault("use_cutlass", "0")
    # NCCL would be downloaded at first use (no network here); Jittor then all-reduces through MPI instead.
    os.environ.setdefault("use_nccl", "0")
    local_rank = os.environ.get("OMPI_COMM_WORLD_LOCAL_RANK")
    if use_gpu and local_rank is not None and "CUDA_VISIBLE_DEVICES" not in os.environ:
        # One GPU per MPI rank on each host, round-robin (otherwise every rank would use GPU 0).
        gpus = len(glob.glob("/dev/nvidia[0-9]*")) or 1
        os.environ["CUDA_VISIBLE_DEVICES"] = str(int(local_rank) % gpus)
    if not environment.verbose():
        os.environ.setdefault("log_silent", "1")
    ONEDNN_AVAILABLE = _wire_onednn()
    if not ONEDNN_AVAILABLE:
        os.environ["use_mkl"] = "0"
        if not use_gpu:
            print(
                "warning: oneDNN (Debian package libdnnl-dev) not found; Jittor's CPU matmul is many times slower "
                "without it. Install it with: apt-get install -y libdnnl-dev",
                file=sys.stderr,
            )


_configure()
check_mpi_environment()  # under mpirun without a usable MPI: a one-line error instead of Jittor's traceback
try:
    from .runguard import held_during_import

    with held_during_import():  # a training command's stop signal during Jittor's start-up is kept for its loop
        import jittor as jt  # noqa: E402  (must follow the environment set-up above)
except SystemExit as _exit:  # Jittor quits after rebuilding its compiler utilities when compiler flags changed
    raise InputError("Jittor rebuilt its compiler utilities (its compiler flags changed, e.g. after switching "
                     "between CPU and CUDA); run the command again") from _exit
except Exception as _exc:  # noqa: BLE001  (reworded where the cause is known: MPI, or CUDA start-up)
    if mpi_requested():
        raise mpi_import_failed(_exc) from _exc
    if DEVICE == "cuda":
        raise InputError(f"Jittor could not start on CUDA ({type(_exc).__name__}: {one_line(_exc)}); rerun with "
                         f"{environment.VERBOSE}=1 for Jittor's log, or set {environment.DEVICE}=cpu") from _exc
    raise

if DEVICE == "cuda":
    jt.flags.use_cuda = 1
    TF32 = environment.tf32()
    if TF32:
        jt.flags.use_tensorcore = 1  # cuBLAS: CUBLAS_COMPUTE_32F_FAST_TF32 for float32 matmuls

# Jittor's native signal handler quits the whole process when *any* child process ends by a signal (it is
# meant for its data-loader workers, which we do not use). Our children are ffmpeg, COLMAP or a training
# run killed on purpose, so restore the default disposition.
signal.signal(signal.SIGCHLD, signal.SIG_DFL)


def in_mpi() -> bool:
    """True when this process is one rank of an ``mpirun`` job that Jittor joined."""
    return bool(getattr(jt, "in_mpi", False))


def rank() -> int:
    return int(jt.rank) if in_mpi() else 0


def world_size() -> int:
    return int(jt.world_size) if in_mpi() else 1


# --------------------------------------------------------------------------------------------------------
# Device memory and render chunks
# --------------------------------------------------------------------------------------------------------

def _cudart_free_bytes() -> int | None:
    """Free memory of the current CUDA device from ``cudaMemGetInfo`` (the cudart Jittor loaded), or None."""
    if CUDA_TOOLKIT is None or not CUDA_TOOLKIT.libraries.get("cudart"):
        return None
    try:
        cudart = ctypes.CDLL(CUDA_TOOLKIT.libraries["cudart"])
        free, total = ctypes.c_size_t(), ctypes.c_size_t()
        if cudart.cudaMemGetInfo(ctypes.byref(free), ctypes.byref(total)) != 0:
            return None
        return int(free.value)
    except (OSError, AttributeError):
        return None


def _nvidia_smi_free_bytes() -> int | None:
    """Free memory of the first visible GPU from ``nvidia-smi`` (MiB → bytes), or None."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0].strip() or "0"
    try:
        out = subprocess.run([smi, "--query-gpu=memory.free", "--format=csv,noheader,nounits", "-i", visible],
                             capture_output=True, text=True, timeout=30).stdout
        return int(float(out.strip().splitlines()[0])) * (1 << 20)
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


@lru_cache(maxsize=1)
def free_device_memory() -> int | None:
    """Free memory of this process's CUDA device in bytes, read once (before the renders allocate); None on
    the CPU or when it cannot be read."""
    if DEVICE != "cuda":
        return None
    return _cudart_free_bytes() or _nvidia_smi_free_bytes()


def chunk_points_for_memory(free_bytes: int) -> int:
    """MLP points per render chunk that fit ``CUDA_MEMORY_FRACTION`` of ``free_bytes`` at
    ``BYTES_PER_CHUNK_POINT`` bytes per point: a power of two between ``CUDA_CHUNK_POINTS_MIN`` and
    ``CUDA_CHUNK_POINTS_MAX``."""
    points = int(free_bytes * CUDA_MEMORY_FRACTION / BYTES_PER_CHUNK_POINT)
    points = 1 << max(0, points.bit_length() - 1)
    return max(CUDA_CHUNK_POINTS_MIN, min(CUDA_CHUNK_POINTS_MAX, points))


def render_chunk_points(configured: int) -> int:
    """MLP points per render chunk on this process's device.

    CPU: ``configured`` (``config.render.chunk_points``, chosen by measurement on the CPU). CUDA: from the free
    device memory (:func:`chunk_points_for_memory`), or ``configured`` when it cannot be read.
    ``JNEUSAMPLE_CHUNK_POINTS`` overrides both.
    """
    override = environment.chunk_points()
    if override is not None:
        return override
    free = free_device_memory()
    return chunk_points_for_memory(free) if free else int(configured)


def startup_report() -> dict:
    """What this process runs on (for benchmark JSON files): device, toolkit, flags, free device memory."""
    return {
        "device": DEVICE, "device_note": DEVICE_NOTE, "tf32": TF32, "onednn": ONEDNN_AVAILABLE,
        "jittor_version": getattr(jt, "__version__", None),
        "use_cuda": int(jt.flags.use_cuda), "use_tensorcore": int(getattr(jt.flags, "use_tensorcore", 0)),
        "cuda_archs": list(getattr(jt.flags, "cuda_archs", []) or []),
        "cuda_toolkit": CUDA_TOOLKIT.as_dict() if CUDA_TOOLKIT else None,
        "free_device_memory": free_device_memory(),
        "render_chunk_points_paper": render_chunk_points(1 << 18),
        "env": {k: os.environ.get(k) for k in ("nvcc_path", "conv_opt", "cc_flags", "use_cutt", "use_cutlass",
                                               "use_nccl", "use_mkl", "CUDA_VISIBLE_DEVICES")},
    }


__all__ = [
    "jt", "DEVICE", "DEVICE_NOTE", "CUDA_TOOLKIT", "ONEDNN_AVAILABLE", "TF32", "chunk_points_for_memory",
    "free_device_memory", "gpu_present", "in_mpi", "rank", "render_chunk_points", "startup_report",
    "world_size",
]
