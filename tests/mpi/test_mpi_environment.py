"""Asking for MPI when it cannot work gives a one-line message saying how to enable it (no mpirun needed)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from jneusample.platform import distributed, startup  # noqa: E402
from jneusample.errors import InputError  # noqa: E402

MPI_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMI_SIZE", "PMI_RANK", "use_mpi", "mpicc_path",
                 "SLURM_STEP_NUM_TASKS", "SLURM_PROCID", "SLURM_NTASKS")


@pytest.fixture
def no_mpi(monkeypatch):
    for name in MPI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_launcher_means_no_mpi(no_mpi):
    assert not startup.mpi_requested()
    assert startup.mpi_problem() is None
    assert startup.launcher_world_size() == 1
    startup.check_mpi_environment()  # nothing to say


def test_mpirun_without_mpicc_says_what_to_install(no_mpi):
    no_mpi.setenv("OMPI_COMM_WORLD_SIZE", "2")
    no_mpi.setattr(startup.shutil, "which", lambda name: None)
    problem = startup.mpi_problem()
    assert "mpicc" in problem and "apt-get install -y openmpi-bin libopenmpi-dev" in problem
    with pytest.raises(InputError) as info:  # an ordinary exception (issue 10: no SystemExit at import time)
        startup.check_mpi_environment()
    message = str(info.value)
    assert "\n" not in message and "without mpirun" in message


def test_mpirun_with_one_process_falls_back_to_a_single_process(no_mpi):
    no_mpi.setenv("OMPI_COMM_WORLD_SIZE", "1")
    no_mpi.setattr(startup.shutil, "which", lambda name: None)
    with pytest.warns(UserWarning, match="single process"):
        startup.check_mpi_environment()
    assert "OMPI_COMM_WORLD_SIZE" not in os.environ


def test_other_mpi_launchers_and_disabled_mpi_are_reported(no_mpi):
    no_mpi.setenv("PMI_SIZE", "4")
    assert startup.launcher_world_size() == 4
    assert "OpenMPI" in startup.mpi_problem()
    no_mpi.delenv("PMI_SIZE")
    no_mpi.setenv("OMPI_COMM_WORLD_SIZE", "2")
    no_mpi.setenv("use_mpi", "0")
    assert "use_mpi=0" in startup.mpi_problem()


def test_importing_the_backend_under_mpirun_without_mpi_fails_in_one_line(tmp_path):
    """The whole path, as a user meets it: Jittor is never imported, the message says what to install."""
    env = {key: value for key, value in os.environ.items() if key not in MPI_VARIABLES}
    env.update(OMPI_COMM_WORLD_SIZE="2", OMPI_COMM_WORLD_RANK="0", PATH=str(tmp_path), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "jneusample", "bench", "--height", "2", "--width", "2",
                             "--no-progress"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: distributed run impossible") and "libopenmpi-dev" in lines[-1], lines
    assert "Traceback" not in result.stderr


def test_slurm_tasks_without_openmpi_are_refused(no_mpi):
    no_mpi.setenv("SLURM_NTASKS", "4")  # a batch script (one process) is no several-task launch
    no_mpi.setenv("SLURM_PROCID", "0")
    assert not startup.mpi_requested() and startup.mpi_problem() is None
    no_mpi.setenv("SLURM_STEP_NUM_TASKS", "2")  # srun -n 2
    assert startup.launcher_world_size() == 2 and startup.launcher_rank() == 0
    assert "srun" in startup.mpi_problem() and "mpirun -np 2" in startup.mpi_problem()
    no_mpi.setenv("OMPI_COMM_WORLD_SIZE", "2")  # OpenMPI's mpirun inside the allocation: fine
    no_mpi.setattr(startup.shutil, "which", lambda name: "/usr/bin/mpicc")
    no_mpi.setattr(startup.os.path, "exists", lambda path: True)
    assert startup.mpi_problem() is None


@pytest.mark.parametrize("task", [0, 1])
def test_srun_with_two_tasks_is_one_line_from_task_0(tmp_path, task):
    """At the command line: task 0 says how to launch, task 1 says nothing; both exit 2 before Jittor starts."""
    env = {key: value for key, value in os.environ.items() if key not in MPI_VARIABLES}
    env.update(SLURM_STEP_NUM_TASKS="2", SLURM_NTASKS="2", SLURM_PROCID=str(task), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "jneusample", "train", "--preset", "tiny", "--steps", "1",
                             "--out", str(tmp_path / "run")], env=env, cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if task == 0:
        assert len(lines) == 1 and lines[0].startswith("error: distributed run impossible: started by srun as 2 "
                                                       "tasks"), result.stderr
        assert "mpirun -np 2" in lines[0]
    else:
        assert lines == []
    assert not (tmp_path / "run").exists()


def test_single_process_helpers_are_no_ops(no_mpi):
    assert distributed.shard(list(range(5))) == [0, 1, 2, 3, 4]
    assert distributed.gather_objects({"a": 1}) == [{"a": 1}]
    assert distributed.any_rank(True) is True and distributed.any_rank(False) is False
    distributed.barrier()
    assert distributed.effective_rays_per_step(4096) == 4096
    assert distributed.rank() == 0 and distributed.world_size() == 1 and distributed.is_root()
