"""`train.cpu_processes`: when a training command restarts itself under mpirun, and when it does not."""
import pytest

from jneusample import launch


def test_cpu_ranks_capped_at_cores(monkeypatch):
    monkeypatch.setattr(launch, "usable_cores", lambda: 2)
    assert launch.cpu_ranks(2) == 2
    assert launch.cpu_ranks(8) == 2
    assert launch.cpu_ranks(0) == 2  # one per core
    assert launch.cpu_ranks(1) == 1
    monkeypatch.setattr(launch, "usable_cores", lambda: 1)
    assert launch.cpu_ranks(2) == 1


@pytest.fixture
def no_exec(monkeypatch):
    calls = []
    monkeypatch.setattr(launch.os, "execve", lambda *a: calls.append(a))
    monkeypatch.setattr(launch, "usable_cores", lambda: 2)
    monkeypatch.setattr(launch.shutil, "which", lambda name: "/usr/bin/mpirun")
    for key in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", launch.RELAUNCHED_ENV, launch.NO_RELAUNCH_ENV):
        monkeypatch.delenv(key, raising=False)
    return calls


def test_relaunch_runs_mpirun_with_the_same_arguments(no_exec, monkeypatch):
    monkeypatch.setattr(launch, "command_line", ["train", "--data", "x", "--preset", "cpu"])
    launch.relaunch_under_mpi(2, "cpu")
    (path, argv, env), = no_exec
    assert argv[:3] == ["/usr/bin/mpirun", "-np", "2"]
    assert argv[-5:] == ["train", "--data", "x", "--preset", "cpu"]
    assert env["OMP_NUM_THREADS"] == "1" and env[launch.RELAUNCHED_ENV] == "2"


@pytest.mark.parametrize("case", ["in-process", "one-rank", "gpu", "under-mpirun", "already", "opt-out", "no-mpirun"])
def test_no_relaunch(no_exec, monkeypatch, capsys, case):
    monkeypatch.setattr(launch, "command_line", None if case == "in-process" else ["train"])
    requested, device = (1 if case == "one-rank" else 2), ("cuda" if case == "gpu" else "cpu")
    if case == "under-mpirun":
        monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    if case == "already":
        monkeypatch.setenv(launch.RELAUNCHED_ENV, "2")
    if case == "opt-out":
        monkeypatch.setenv(launch.NO_RELAUNCH_ENV, "1")
    if case == "no-mpirun":
        monkeypatch.setattr(launch.shutil, "which", lambda name: None)
    launch.relaunch_under_mpi(requested, device)
    assert no_exec == []
    if case == "no-mpirun":
        assert "mpirun is not installed" in capsys.readouterr().err
