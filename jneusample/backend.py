"""Configure Jittor before anything imports it.

Every module of the package imports Jittor through this one (``from jneusample.backend import jt``) so that
the choices below are made exactly once, before Jittor's own import-time set-up runs:

* **Device.** These machines have ``nvcc`` but no GPU; Jittor would then try CUDA and fail on ``libcudart``.
  We look for a real GPU (``/dev/nvidia*`` or ``nvidia-smi``) and hide ``nvcc`` when there is none.
  ``JNEUSAMPLE_DEVICE=cpu|cuda|auto`` overrides the detection.
* **oneDNN.** Jittor's CPU matmul is ~25x faster with oneDNN, which Jittor downloads at first use; offline
  that fails. We point Jittor at Debian's ``libdnnl`` through the cache folder layout it looks for
  (see ``docs/install.md``), so it never attempts a download. Without ``libdnnl`` we warn once and fall back.
* **Noise.** Jittor's info logs (compile progress, banner) are silenced unless ``JNEUSAMPLE_VERBOSE=1``.
* **Network.** CUDA extras that Jittor would download (cutt, nccl) are switched off.
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import sys
import warnings

_DNNL_LIB_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libdnnl.so",
    "/usr/lib/aarch64-linux-gnu/libdnnl.so",
    "/usr/lib/libdnnl.so",
    "/usr/local/lib/libdnnl.so",
)
_DNNL_FOLDER = "dnnl_lnx_2.2.0_cpu_gomp"  # the name Jittor's installer checks for before downloading
ONEDNN_AVAILABLE = False
DEVICE = "cpu"


def gpu_present() -> bool:
    """True when an NVIDIA GPU is visible to this process (device nodes or a working ``nvidia-smi``)."""
    if glob.glob("/dev/nvidia[0-9]*"):
        return True
    smi = shutil.which("nvidia-smi")
    if smi:
        return os.system(f"{smi} -L > /dev/null 2>&1") == 0
    return False


def _wire_onednn() -> bool:
    """Make Jittor use the system oneDNN instead of downloading its own. Returns True when available."""
    lib = next((p for p in _DNNL_LIB_CANDIDATES if os.path.exists(p)), None)
    if lib is None or not os.path.exists("/usr/include/dnnl.hpp"):
        return False
    home = os.path.join(os.path.expanduser("~"), ".cache", "jittor", "mkl", _DNNL_FOLDER)
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


def _configure() -> None:
    global ONEDNN_AVAILABLE, DEVICE
    if "jittor" in sys.modules:
        return  # somebody imported Jittor first; respect their set-up
    choice = os.environ.get("JNEUSAMPLE_DEVICE", "auto").lower()
    if choice not in ("auto", "cpu", "cuda"):
        raise SystemExit(f"error: JNEUSAMPLE_DEVICE={choice!r}: expected auto, cpu or cuda")
    use_gpu = choice == "cuda" or (choice == "auto" and gpu_present())
    DEVICE = "cuda" if use_gpu else "cpu"
    if not use_gpu:
        os.environ["nvcc_path"] = ""
    os.environ.setdefault("use_cutt", "0")
    # NCCL would be downloaded at first use (no network here); Jittor then all-reduces through MPI instead.
    os.environ.setdefault("use_nccl", "0")
    local_rank = os.environ.get("OMPI_COMM_WORLD_LOCAL_RANK")
    if use_gpu and local_rank is not None and "CUDA_VISIBLE_DEVICES" not in os.environ:
        # One GPU per MPI rank on each host, round-robin (otherwise every rank would use GPU 0).
        gpus = len(glob.glob("/dev/nvidia[0-9]*")) or 1
        os.environ["CUDA_VISIBLE_DEVICES"] = str(int(local_rank) % gpus)
    if os.environ.get("JNEUSAMPLE_VERBOSE", "0") != "1":
        os.environ.setdefault("log_silent", "1")
    ONEDNN_AVAILABLE = _wire_onednn()
    if not ONEDNN_AVAILABLE:
        os.environ["use_mkl"] = "0"
        if not use_gpu:
            print(
                "warning: oneDNN (Debian package libdnnl-dev) not found; Jittor's CPU matmul is ~25x slower "
                "without it. Install it with: apt-get install -y libdnnl-dev",
                file=sys.stderr,
            )


_configure()

from .distributed import check_mpi_environment, mpi_import_failed, mpi_requested  # noqa: E402  (no Jittor)

check_mpi_environment()  # under mpirun without a usable MPI: a one-line error instead of Jittor's traceback
try:
    import jittor as jt  # noqa: E402  (must follow the environment set-up above)
except Exception as _exc:  # noqa: BLE001  (only reworded under mpirun, where MPI is the likely cause)
    if mpi_requested():
        raise mpi_import_failed(_exc) from _exc
    raise

if DEVICE == "cuda":
    jt.flags.use_cuda = 1

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


__all__ = ["jt", "DEVICE", "ONEDNN_AVAILABLE", "gpu_present", "in_mpi", "rank", "world_size"]
