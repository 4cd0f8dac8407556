"""`train.cpu_processes`: when a training command restarts itself under mpirun, and when it does not; how the
supervising parent stands in for mpirun (its banners, a rank that died, signals passed on through the stop file)."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jneusample.platform import launch


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

    def supervised(self):
        calls.append((self.argv, self.env, self.resume_command))
        return 7

    monkeypatch.setattr(launch.RankSupervisor, "run", supervised)
    monkeypatch.setattr(launch, "usable_cores", lambda: 2)
    monkeypatch.setattr(launch.shutil, "which", lambda name: "/usr/bin/mpirun")
    for key in (*launch.LAUNCHER_VARIABLES, launch.RELAUNCHED_ENV, launch.NO_RELAUNCH_ENV):
        monkeypatch.delenv(key, raising=False)
    return calls


def test_relaunch_runs_mpirun_with_the_same_arguments(no_exec, monkeypatch):
    monkeypatch.setattr(launch, "command_line", ["train", "--data", "x", "--preset", "cpu"])
    assert launch.relaunch_under_mpi(2, "cpu", "jneusample train --out r --resume") == 7  # the ranks' status
    (argv, env, resume), = no_exec
    assert argv[:3] == ["/usr/bin/mpirun", "-np", "2"]
    assert argv[-5:] == ["train", "--data", "x", "--preset", "cpu"]
    assert env["OMP_NUM_THREADS"] == "1" and env[launch.RELAUNCHED_ENV] == "2"
    assert resume == "jneusample train --out r --resume"


@pytest.mark.parametrize("case", ["in-process", "one-rank", "gpu", "under-mpirun", "under-srun", "already", "opt-out",
                                  "no-mpirun"])
def test_no_relaunch(no_exec, monkeypatch, capsys, case):
    monkeypatch.setattr(launch, "command_line", None if case == "in-process" else ["train"])
    requested, device = (1 if case == "one-rank" else 2), ("cuda" if case == "gpu" else "cpu")
    if case == "under-mpirun":
        monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    if case == "under-srun":
        monkeypatch.setenv("SLURM_STEP_NUM_TASKS", "2")
    if case == "already":
        monkeypatch.setenv(launch.RELAUNCHED_ENV, "2")
    if case == "opt-out":
        monkeypatch.setenv(launch.NO_RELAUNCH_ENV, "1")
    if case == "no-mpirun":
        monkeypatch.setattr(launch.shutil, "which", lambda name: None)
    assert launch.relaunch_under_mpi(requested, device) is None
    assert no_exec == []
    if case == "no-mpirun":
        assert "mpirun is not installed" in capsys.readouterr().err


DASHES = b"-" * 74 + b"\n"
NON_ZERO = (DASHES + b"Primary job  terminated normally, but 1 process returned\na non-zero exit code. Per "
            b"user-direction, the job has been aborted.\n" + DASHES + DASHES + b"mpirun detected that one or more "
            b"processes exited with non-zero status, thus causing\nthe job to be terminated. The first process to do "
            b"so was:\n\n  Process name: [[15267,1],1]\n  Exit code:    3\n" + DASHES)
KILLED = DASHES + b"mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).\n" + DASHES


def filtered(*chunks: bytes) -> tuple[bytes, launch.BannerFilter]:
    out: list[bytes] = []
    banners = launch.BannerFilter(out.append)
    for chunk in chunks:
        banners.feed(chunk)
    banners.close()
    return b"".join(out), banners


def test_banners_are_dropped_and_read():
    text, banners = filtered(b"error: bad\n", NON_ZERO[:50], NON_ZERO[50:], b"[vm:1] 1 more process has sent help "
                             b"message help-mpi-api.txt / mpi-abort\n")
    assert text == b"error: bad\n"
    assert banners.failed == (1, 3) and banners.killed is None
    text, banners = filtered(KILLED)
    assert text == b"" and banners.killed == (1, "vm", 9)


def test_a_banner_glued_to_an_unfinished_line_is_dropped():
    """A rank stopped mid-line leaves no newline: mpirun's banner then starts on the same line."""
    text, banners = filtered(b"data: scene (blender", b" format)" + NON_ZERO)
    assert text == b"data: scene (blender format)\n" and banners.failed == (1, 3)


def test_other_banners_and_progress_pass_through_at_once():
    other = DASHES + b"There are not enough slots available in the system\n" + DASHES
    out: list[bytes] = []
    banners = launch.BannerFilter(out.append)
    banners.feed(b"\r 10%|#  | 1/10")
    assert out == [b"\r", b" 10%|#  | 1/10"], "a progress bar's partial line is not held back"
    banners.feed(b"\r 20%|## | 2/10\n" + other + b"---- a rank's own line\n")
    banners.close()
    assert b"".join(out) == b"\r 10%|#  | 1/10\r 20%|## | 2/10\n" + other + b"---- a rank's own line\n"


def test_death_message_names_the_rank_once():
    line = launch.death_message((1, "vm", 9), None, "jneusample train --out r --resume")
    assert line.startswith("error: MPI rank 1 on vm was ended by SIGKILL") and "\n" not in line
    assert line.endswith("continue with: jneusample train --out r --resume")
    assert "rank 0 exited with status 1" in launch.death_message(None, (0, 1), None)
    assert launch.death_message(None, (0, 2), None) is None, "a bad input: rank 0 printed its error line"
    assert launch.death_message(None, (0, 130), None) is None, "a stop by a signal is no death"
    assert launch.death_message(None, None, None) is None


FAKE_RANKS = textwrap.dedent("""
    import os, sys, time
    # Stands for mpirun and its ranks: waits for the stop file, then exits as the ranks do (128 + its signal).
    sys.stderr.write("starting\\n"); sys.stderr.flush()
    path = os.environ["JNEUSAMPLE_STOP_FILE"]
    deadline = time.time() + 30
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.05)
    signum = int(open(path).read())
    sys.stderr.write("%s\\n" % os.environ.get("FAKE_BANNER", "stopping")); sys.stderr.flush()
    sys.exit(128 + signum)
""")


def supervise(tmp_path: Path, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """A real RankSupervisor process around a fake mpirun (no MPI, no Jittor): signals reach it, not the child."""
    fake = tmp_path / "fake_mpirun.py"
    fake.write_text(FAKE_RANKS)
    driver = ("import sys; from jneusample.platform.launch import RankSupervisor; import os; "
              f"sys.exit(RankSupervisor([sys.executable, {str(fake)!r}], dict(os.environ), 'RESUME').run())")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **(extra_env or {})}
    process = subprocess.Popen([sys.executable, "-c", driver], stderr=subprocess.PIPE, text=True, env=env)
    assert process.stderr.readline() == "starting\n"
    return process


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_supervisor_passes_a_signal_on_and_returns_its_status(tmp_path, signum):
    process = supervise(tmp_path)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [f"{signal.Signals(signum).name} received: stopping after the current step and writing a "
                     "checkpoint (send it again to quit at once)", "stopping"]


def test_supervisor_reports_a_killed_rank_in_one_line(tmp_path):
    fake = tmp_path / "fake_mpirun.py"
    fake.write_text("import sys; sys.stderr.write(%r); sys.exit(137)" % KILLED.decode())
    driver = ("import sys; from jneusample.platform.launch import RankSupervisor; import os; "
              f"sys.exit(RankSupervisor([sys.executable, {str(fake)!r}], dict(os.environ), 'RESUME').run())")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 137
    assert result.stderr.splitlines() == [launch.death_message((1, "vm", 9), None, "RESUME")]
