"""Run a training command as several MPI ranks on one CPU machine (``train.cpu_processes``).

One Jittor process keeps only ~1.3 of 2 cores busy: its oneDNN matmuls use every core, but its element-wise
kernels (bias, ReLU, encoding, compositing and their gradients) run on one thread. Two ranks with one thread
each keep both cores busy (docs/benchmarks.md, "Training throughput"). :func:`relaunch_under_mpi` replaces the
current process by ``mpirun -np K python -m jneusample <same arguments>``; Jittor's optimizer then averages the
ranks' gradients. As under any ``mpirun``, ``train.rays_per_step`` is per rank: a step sees K times as many
rays (the ``cpu`` preset asks for 2 ranks of 512 rays: 1024 rays per step).

Nothing happens (the command goes on as one process) when it already runs under an MPI launcher, on a GPU,
when ``K <= 1``, with ``JNEUSAMPLE_NO_RELAUNCH=1``, or when ``mpirun`` is missing (a note says so).
"""
from __future__ import annotations

import os
import shutil
import sys


RELAUNCHED_ENV = "JNEUSAMPLE_RELAUNCHED"
"""Set in the ranks started by :func:`relaunch_under_mpi` (their value: the number of ranks)."""
NO_RELAUNCH_ENV = "JNEUSAMPLE_NO_RELAUNCH"
"""``1``: never relaunch (run as one process whatever the config says)."""

command_line: list[str] | None = None
"""The arguments of the ``jneusample`` process when it was started from a shell (set by ``cli.main``); None
when a command runs inside another program (tests call ``cli.main([...])``), which is never relaunched."""


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def cpu_ranks(requested: int) -> int:
    """Ranks to run for ``train.cpu_processes = requested``: 0 means one per usable core; never more than the
    cores (oversubscribed ranks wait for each other at every gradient all-reduce)."""
    cores = usable_cores()
    return max(1, min(cores, requested if requested > 0 else cores))


def relaunch_under_mpi(requested: int, device: str) -> None:
    """Replace this process by ``mpirun -np K`` of the same command when that is what the config asks for.

    Returns (doing nothing) when this process should go on by itself; otherwise never returns.
    """
    ranks = cpu_ranks(requested)
    under_launcher = any(key in os.environ for key in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK"))
    if (command_line is None or ranks <= 1 or device != "cpu" or under_launcher or os.environ.get(RELAUNCHED_ENV)
            or os.environ.get(NO_RELAUNCH_ENV) == "1"):
        return
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        print(f"note: train.cpu_processes={requested} asks for {ranks} MPI ranks but mpirun is not installed; "
              "training as one process (apt-get install -y openmpi-bin libopenmpi-dev)", file=sys.stderr)
        return
    env = dict(os.environ)
    env[RELAUNCHED_ENV] = str(ranks)
    env["OMP_NUM_THREADS"] = "1"  # one core per rank: two threads per rank would fight over the cores
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # OpenMPI refuses root unless told twice
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    argv = [mpirun, "-np", str(ranks), "--bind-to", "core", sys.executable, "-m", "jneusample", *command_line]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(mpirun, argv, env)
