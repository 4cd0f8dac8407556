"""The process's launch environment, inspected before Jittor is imported: which device, which CUDA, which MPI.

Nothing here imports Jittor (``backend.py`` calls these functions to decide how to configure Jittor, and
``benchmarks/gpu_check.py`` calls them to record a machine even when Jittor cannot start on it). Problems are
raised as :class:`~jneusample.errors.InputError` (a one-line ``error: ...`` from the command line), never as
``SystemExit``.

**Device** (``JNEUSAMPLE_DEVICE=auto|cpu|cuda``, default auto). Jittor 1.3.11 decides CUDA by itself: it uses
any ``nvcc`` it finds, and when it finds a driver but no ``nvcc`` it *downloads* a CUDA 12.2 + cuDNN 8 archive
(``jittor_utils/install_cuda.py: install_cuda``). :func:`resolve_device` makes that decision for it instead:
CUDA only with a GPU, a real ``nvcc`` binary and the libraries Jittor links at start-up (cudart, cuBLAS,
cuRAND); otherwise the CPU (``auto``) or a one-line error naming what is missing (``cuda``). See
``docs/performance.md``, "CUDA start-up, offline", for what Jittor loads and downloads.

**MPI** (``mpirun``): Jittor joins an MPI job when ``OMPI_COMM_WORLD_SIZE`` is set and builds its MPI ops with
``mpicc``; :func:`check_mpi_environment` turns the ways that fails into one-line errors.
"""
from __future__ import annotations

import ctypes
import glob
import os
import re
import shutil
import subprocess
import warnings
from dataclasses import dataclass, field
import json

from .. import environment
from ..errors import InputError

DEVICE_ENV = environment.DEVICE
DEVICE_CHOICES = environment.DEVICE_CHOICES
INSTALL_HINT = "install OpenMPI with: apt-get install -y openmpi-bin libopenmpi-dev"
_ARCH = "aarch64" if os.uname().machine == "aarch64" else "x86_64"


# --------------------------------------------------------------------------------------------------------
# Device
# --------------------------------------------------------------------------------------------------------

def gpu_present() -> bool:
    """True when an NVIDIA GPU is visible to this process (device nodes or a working ``nvidia-smi``)."""
    if glob.glob("/dev/nvidia[0-9]*"):
        return True
    smi = shutil.which("nvidia-smi")
    if smi:
        return subprocess.run([smi, "-L"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    return False


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def _unwrap(path: str) -> str | None:
    """The real ``nvcc`` binary behind ``path``: itself, its symlink target, or the program a small wrapper
    script ``exec``s (Jittor derives the CUDA folders from the directory of the ``nvcc`` it is given, so a
    wrapper in ``/usr/local/bin`` would make it look for ``/usr/local/lib64/libcudart.so``)."""
    real = os.path.realpath(path)
    if _is_elf(real):
        return real
    try:
        with open(real, encoding="utf-8", errors="replace") as handle:
            text = handle.read(4096)
    except OSError:
        return None
    for match in re.finditer(r"(/[^\s\"']*/nvcc)\b", text):
        target = os.path.realpath(match.group(1))
        if target != real and _is_elf(target):
            return target
    return None


def find_nvcc() -> str | None:
    """The CUDA compiler Jittor should use (a real binary, not a wrapper), or None.

    Looked for in: ``$nvcc_path`` (Jittor's own variable, when not empty), ``$CUDA_HOME``/``$CUDA_PATH``,
    ``/usr/local/cuda``, ``PATH``, the newest ``/usr/local/cuda-*``, ``/usr/bin``, ``/opt/cuda``.
    """
    candidates = [os.environ.get("nvcc_path", "")]
    candidates += [os.path.join(os.environ[k], "bin", "nvcc") for k in ("CUDA_HOME", "CUDA_PATH") if os.environ.get(k)]
    candidates += ["/usr/local/cuda/bin/nvcc", shutil.which("nvcc") or ""]
    candidates += sorted(glob.glob("/usr/local/cuda-*/bin/nvcc"), reverse=True)
    candidates += ["/usr/bin/nvcc", "/opt/cuda/bin/nvcc"]
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            real = _unwrap(candidate)
            if real:
                return real
    return None


def nvcc_version(nvcc: str) -> tuple[int, int] | None:
    """(major, minor) from ``nvcc --version`` ("release 13.0"), or None when it cannot be run."""
    try:
        out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"release (\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass
class CudaToolkit:
    """Where the CUDA pieces Jittor needs are, found the way Jittor 1.3.11 looks for them.

    Jittor (``compiler.py: check_cuda``) takes ``bin = dirname(nvcc)``, ``include = bin/../include``,
    ``lib = bin/../lib64`` (``/usr/lib/<arch>-linux-gnu`` for ``/usr/bin/nvcc``) and dlopens ``lib/libcudart.so``;
    ``compile_extern.py: setup_cuda_lib`` then searches ``lib<name>.so`` in bin, lib, ``targets/<arch>-linux/lib``,
    ``/usr/lib/<arch>-linux-gnu``, ``/usr/lib`` and ``<name>.h`` in include, ``targets/<arch>-linux/include``,
    ``/usr/include``.
    """

    nvcc: str
    version: tuple[int, int] | None
    bin: str
    include: str
    lib: str
    libraries: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def locate(cls, nvcc: str) -> "CudaToolkit":
        bin_dir = os.path.dirname(nvcc)
        home = os.path.dirname(bin_dir)
        lib = f"/usr/lib/{_ARCH}-linux-gnu" if nvcc == "/usr/bin/nvcc" else os.path.join(home, "lib64")
        toolkit = cls(nvcc=nvcc, version=nvcc_version(nvcc), bin=bin_dir, include=os.path.join(home, "include"),
                      lib=lib)
        lib_dirs = [bin_dir, lib, os.path.join(home, "targets", f"{_ARCH}-linux", "lib"),
                    f"/usr/lib/{_ARCH}-linux-gnu", "/usr/lib"]
        include_dirs = [toolkit.include, os.path.join(home, "targets", f"{_ARCH}-linux", "include"), "/usr/include"]
        for name in ("cudart", "cublas", "cublasLt", "curand", "cudnn", "cufft", "cusparse"):
            toolkit.libraries[name] = next((os.path.join(d, f"lib{name}.so") for d in lib_dirs
                                            if os.path.isfile(os.path.join(d, f"lib{name}.so"))), None)
        toolkit.libraries["cudart"] = (os.path.join(lib, "libcudart.so")
                                       if os.path.isfile(os.path.join(lib, "libcudart.so")) else None)
        for name in ("cublas", "curand", "cudnn"):
            toolkit.headers[name] = next((os.path.join(d, f"{name}.h") for d in include_dirs
                                          if os.path.isfile(os.path.join(d, f"{name}.h"))), None)
        return toolkit

    def as_dict(self) -> dict:
        return {"nvcc": self.nvcc, "version": ".".join(map(str, self.version)) if self.version else None,
                "lib": self.lib, "include": self.include, "libraries": dict(self.libraries),
                "headers": dict(self.headers)}


def driver_loadable() -> bool:
    """True when the NVIDIA driver library (``libcuda.so.1``) can be loaded by this process."""
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def jittor_home() -> str:
    """The folder Jittor keeps ``.cache/jittor`` in, found as Jittor 1.3.11 does (``jittor_utils.home``):
    ``$JITTOR_HOME``, else the ``JITTOR_HOME`` saved in ``~/.cache/jittor/config.json`` (Jittor saves it there
    whenever it runs with ``JITTOR_HOME`` set), else the home directory."""
    if os.environ.get("JITTOR_HOME"):
        return os.path.abspath(os.environ["JITTOR_HOME"])
    try:
        with open(os.path.join(os.path.expanduser("~"), ".cache", "jittor", "config.json"), encoding="utf-8") as f:
            saved = json.load(f).get("JITTOR_HOME")
        if saved:
            return os.path.abspath(saved)
    except (OSError, ValueError, AttributeError):
        pass
    return os.path.expanduser("~")


def jtcuda_would_download() -> bool:
    """True when Jittor would fetch its own CUDA: ``~/.cache/jittor/jtcuda`` exists (Jittor then always calls
    ``install_cuda``) but holds no ``nvcc`` (so ``install_cuda`` downloads the archive)."""
    home = os.path.join(jittor_home(), ".cache", "jittor", "jtcuda")
    return os.path.isdir(home) and not glob.glob(os.path.join(home, "*", "bin", "nvcc"))


def cuda_problems(toolkit: CudaToolkit | None) -> list[str]:
    """What stops Jittor from starting on CUDA here without a download ([] when nothing does)."""
    problems = []
    if not gpu_present():
        problems.append("no NVIDIA GPU is visible (no /dev/nvidia*, nvidia-smi -L fails)")
    elif not driver_loadable():
        problems.append("the NVIDIA driver library libcuda.so.1 cannot be loaded")
    if toolkit is None:
        problems.append("nvcc (the CUDA toolkit's compiler) was not found; install the CUDA toolkit or set "
                        "CUDA_HOME (Jittor would otherwise download CUDA 12.2, which fails offline)")
        return problems
    if toolkit.version is None:
        problems.append(f"{toolkit.nvcc} --version fails")
    if toolkit.libraries.get("cudart") is None:
        problems.append(f"libcudart.so is missing in {toolkit.lib}")
    for name, what in (("cublas", "cuBLAS (matmuls)"), ("curand", "cuRAND (random numbers)")):
        if toolkit.libraries.get(name) is None or toolkit.headers.get(name) is None:
            version = "-".join(map(str, toolkit.version)) if toolkit.version else "X-Y"
            problems.append(f"{what} is missing: lib{name}.so and {name}.h must be in the CUDA toolkit at "
                            f"{os.path.dirname(toolkit.bin)} (e.g. apt-get install cuda-libraries-dev-{version})")
    if jtcuda_would_download():
        problems.append("~/.cache/jittor/jtcuda exists without nvcc, so Jittor would download CUDA; remove it")
    return problems


@dataclass
class DeviceDecision:
    """What :func:`resolve_device` decided: the device, the toolkit (CUDA only) and, for ``auto``, why CUDA
    was not used although a GPU is present (None otherwise)."""

    device: str
    toolkit: CudaToolkit | None = None
    note: str | None = None


def requested_device() -> str:
    """``JNEUSAMPLE_DEVICE`` (auto when unset), checked."""
    return environment.device()


def resolve_device(choice: str | None = None) -> DeviceDecision:
    """CPU or CUDA for this process, from ``JNEUSAMPLE_DEVICE`` (or ``choice``) and what the machine has.

    ``cuda`` that cannot work raises :class:`InputError` naming every missing piece; ``auto`` falls back to the
    CPU (with a ``note`` saying why when a GPU is present).
    """
    choice = choice or requested_device()
    if choice == "cpu":
        return DeviceDecision("cpu")
    if choice == "auto" and not gpu_present():
        return DeviceDecision("cpu")
    nvcc = find_nvcc()
    toolkit = CudaToolkit.locate(nvcc) if nvcc else None
    problems = cuda_problems(toolkit)
    if not problems:
        return DeviceDecision("cuda", toolkit)
    reason = "; ".join(problems)
    if choice == "cuda":
        raise InputError(f"{DEVICE_ENV}=cuda but CUDA cannot work here: {reason} "
                         f"(set {DEVICE_ENV}=cpu to run on the CPU)")
    return DeviceDecision("cpu", toolkit, note=f"a GPU is present but CUDA cannot be used ({reason}); "
                                               "running on the CPU")


# --------------------------------------------------------------------------------------------------------
# MPI launcher
# --------------------------------------------------------------------------------------------------------

def launcher_world_size() -> int:
    """Number of processes the MPI launcher started (1 when not launched by mpirun or srun)."""
    for key in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"):
        value = os.environ.get(key, "")
        if value.isdigit():
            return int(value)
    return slurm_tasks()


def launcher_rank() -> int:
    """This process's rank as its launcher numbered it (0 outside a launch), read without Jittor: decides
    which rank reports errors and signals before (or without) Jittor's MPI."""
    for key in ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"):
        value = os.environ.get(key, "")
        if value.isdigit():
            return int(value)
    return 0


def slurm_tasks() -> int:
    """Tasks of the ``srun`` step this process belongs to (``SLURM_STEP_NUM_TASKS``; 1 outside a step).

    Only a step's own count is read: ``SLURM_NTASKS`` is also set in a batch script, which runs once, so a
    single ``jneusample`` (or an ``mpirun``) started there is not a several-task launch.
    """
    value = os.environ.get("SLURM_STEP_NUM_TASKS", "")
    return int(value) if value.isdigit() and "SLURM_PROCID" in os.environ else 1


def mpi_requested() -> bool:
    """True when this process was started by an MPI launcher (OpenMPI, MPICH/Intel MPI via PMI, or ``srun``
    with several tasks)."""
    return ("OMPI_COMM_WORLD_SIZE" in os.environ or "PMI_SIZE" in os.environ or "PMI_RANK" in os.environ
            or slurm_tasks() > 1)


def mpi_problem() -> str | None:
    """Why Jittor could not join the MPI job this process belongs to, or None when it can (or none is asked).

    Jittor recognises OpenMPI's ``mpirun`` only (it reads ``OMPI_COMM_WORLD_SIZE``) and compiles its MPI ops
    with ``mpicc``; without ``mpicc`` its import fails with an AttributeError deep inside, and under another
    MPI every rank would silently run the whole job on its own.
    """
    if not mpi_requested():
        return None
    size = launcher_world_size()
    if "OMPI_COMM_WORLD_SIZE" not in os.environ and "PMI_SIZE" not in os.environ and "PMI_RANK" not in os.environ:
        # srun without a PMI plugin: each task would train the whole job alone, and all write the same run.
        return (f"started by srun as {slurm_tasks()} tasks (SLURM_* variables only) but Jittor joins only OpenMPI's "
                "mpirun, so every task would train alone; inside the allocation (salloc/sbatch) run one "
                f"`mpirun -np {slurm_tasks()} python -m jneusample ...` instead of `srun` (docs/distributed.md, Slurm)")
    if "OMPI_COMM_WORLD_SIZE" not in os.environ:
        return (f"started by a non-OpenMPI launcher ({size} processes, PMI_* variables set) but Jittor only "
                f"supports OpenMPI's mpirun; {INSTALL_HINT} and launch with its mpirun")
    if os.environ.get("use_mpi", "1") != "1":
        return "started by mpirun but use_mpi=0 switches Jittor's MPI support off; unset use_mpi"
    mpicc = os.environ.get("mpicc_path") or shutil.which("mpicc")
    if not mpicc or not os.path.exists(mpicc):
        return f"started by mpirun but mpicc (OpenMPI's compiler wrapper) is not on PATH; {INSTALL_HINT}"
    return None


def check_mpi_environment() -> None:
    """Raise :class:`InputError` (or fall back, for ``mpirun -np 1``) when MPI is asked for but unusable."""
    problem = mpi_problem()
    if problem is None:
        return
    if launcher_world_size() <= 1:
        # One process: run it as a plain single process (Jittor decides "MPI" from this variable alone).
        warnings.warn(f"{problem}; running as a single process")
        os.environ.pop("OMPI_COMM_WORLD_SIZE", None)
        return
    raise InputError(f"distributed run impossible: {problem} (or run without mpirun: one process)")


def mpi_import_failed(exc: BaseException) -> InputError:
    """The error to raise when ``import jittor`` failed inside an MPI job (its MPI ops did not build)."""
    return InputError(
        f"Jittor could not set up MPI under mpirun ({type(exc).__name__}: {one_line(exc)}); "
        f"check that `mpicc --showme` works ({INSTALL_HINT}), or run without mpirun for a single process"
    )


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, without terminal colour codes, at most ``limit`` characters."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    text = " ".join(lines[-3:]) if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = [
    "CudaToolkit", "DEVICE_CHOICES", "DEVICE_ENV", "DeviceDecision", "INSTALL_HINT", "check_mpi_environment",
    "cuda_problems", "driver_loadable", "find_nvcc", "gpu_present", "jittor_home", "jtcuda_would_download",
    "launcher_rank", "launcher_world_size", "mpi_import_failed", "mpi_problem", "mpi_requested", "nvcc_version",
    "one_line", "requested_device", "resolve_device", "slurm_tasks",
]
