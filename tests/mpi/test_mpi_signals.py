"""The MPI paths behave as one process at the command line (issue 26): bad input, stop signals, a rank that dies.

* the relaunch (``train.cpu_processes=2``: ``jneusample train`` supervises ``mpirun -np 2``): one ``error: ...``
  line and exit 2 for a bad input, no MPI banner; SIGINT/SIGTERM/SIGHUP to the command the user typed stop both
  ranks at the same step with one checkpoint and exit 130/143/129, also during start-up; ``kill -9`` of a rank
  ends the job in seconds with one line naming it, and ``--resume`` continues bit-exactly;
* a user's own ``mpirun``: one error line from rank 0; a signal to a rank stops the job as above (exit 128+n);
  a signal to ``mpirun`` is OpenMPI's: SIGTERM to the ranks, exit 1 (docs/distributed.md);
* ``mpirun --hostfile``.

Tiny preset, tiny scenes; every job has a timeout (a hang fails). Skipped without OpenMPI.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from test_mpi import (MPIRUN, REPO, checkpoints, environment, load_checkpoint, mpi_command,  # noqa: E402
                      pytestmark, run)
from conftest import write_blender_scene  # noqa: E402

__all__ = ["pytestmark"]  # OpenMPI's mpirun and mpicc, as for test_mpi.py

JNEUSAMPLE = [sys.executable, "-m", "jneusample"]
BANNER_TEXT = ("MPI_ABORT", "mpirun has exited", "mpirun detected", "mpirun noticed", "Primary job", "-----")
TINY = ("--preset", "tiny", "--no-progress", "--set", "train.checkpoint_every=5", "--set", "train.log_every=1",
        "--set", "train.keep_checkpoints=100")
RELAUNCH = ("--set", "train.cpu_processes=2")
"""The tiny preset trains as one process; this makes ``train`` relaunch itself as 2 ranks, as the cpu preset does."""
TIMEOUT = 240


def relaunch_env(**extra: str) -> dict[str, str]:
    env = environment()
    env.pop("JNEUSAMPLE_NO_RELAUNCH", None)
    env.update(extra)
    for key in ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMI_SIZE", "PMI_RANK", "SLURM_STEP_NUM_TASKS"):
        env.pop(key, None)
    return env


def no_banner(stderr: str) -> None:
    for text in BANNER_TEXT:
        assert text not in stderr, f"MPI banner text {text!r} in:\n{stderr[-3000:]}"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith(("data: ", "note: "))]


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = TIMEOUT) -> tuple[str, str]:
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(process.pid)
        out, err = process.communicate()
        pytest.fail(f"the job did not end within {timeout}s (hang?):\n{err[-3000:]}")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants (mpirun puts each rank in its own process group)."""
    for child in children(pid):
        kill_tree(child)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def rank_pids(top: int) -> dict[int, int]:
    """{rank: pid} of the ranks below ``top`` (the relaunching parent or mpirun), read from their environment."""
    found = {}
    pending = [top]
    while pending:
        pid = pending.pop()
        for child in children(pid):
            pending.append(child)
            try:
                env = (Path("/proc") / str(child) / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            ranks = [item.split(b"=", 1)[1] for item in env if item.startswith(b"OMPI_COMM_WORLD_RANK=")]
            if ranks and b"jneusample" in (Path("/proc") / str(child) / "cmdline").read_bytes():
                found.setdefault(int(ranks[0]), child)
    return found


def wait_for(predicate, process: subprocess.Popen, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.time() + timeout
    while not predicate():
        if process.poll() is not None:
            pytest.fail(f"the job ended ({process.returncode}) before {what}:\n{process.stderr.read()[-3000:]}")
        if time.time() > deadline:
            kill_tree(process.pid)
            pytest.fail(f"no {what} within {timeout}s")
        time.sleep(0.1)


def model_arrays(path: Path) -> dict[str, np.ndarray]:
    return {name: np.asarray(value) for name, value in load_checkpoint(path)["model"].items()}


def assert_same_weights(first: Path, second: Path) -> None:
    a, b = model_arrays(first), model_arrays(second)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def assert_clean_stop(run_dir: Path, stderr: str, step: int | None = None) -> int:
    """One checkpoint at the stop step, written by both ranks together; the resume command said once."""
    state = load_checkpoint(checkpoints(run_dir)[-1])
    assert state["world_size"] == 2 and len(state["sampler_per_rank"]) == 2
    assert len(state["param_digest_per_rank"]) == 2 and len(set(state["param_digest_per_rank"])) == 1
    if step is not None:
        assert state["step"] == step
    assert stderr.count("continue with: jneusample train --out") == 1, stderr[-3000:]
    assert f"at step {state['step']} " in stderr
    assert not list((run_dir / "checkpoints").glob(".*.tmp"))
    return int(state["step"])


# --------------------------------------------------------------------------------------------------------
# Bad input: one line, exit 2, under one process, the relaunch and a user's mpirun
# --------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bad_scenes(tmp_path_factory, run_dir):
    root = tmp_path_factory.mktemp("bad_scenes")
    cases = {}
    missing = write_blender_scene(root / "missing", size=8)
    (missing / "train" / "r_1.png").unlink()
    cases["missing image"] = (missing, [])
    outside = write_blender_scene(root / "outside", size=8)
    frames = json.loads((outside / "transforms_train.json").read_text())
    frames["frames"][0]["file_path"] = "../missing/train/r_0"
    (outside / "transforms_train.json").write_text(json.dumps(frames))
    cases["'..' path"] = (outside, [])
    truncated = write_blender_scene(root / "truncated", size=8)
    png = truncated / "train" / "r_2.png"
    png.write_bytes(png.read_bytes()[:60])
    cases["truncated PNG"] = (truncated, [])
    existing = root / "existing_run"
    shutil.copytree(run_dir, existing)  # conftest's 4-step tiny run of the demo scene
    cases["existing run without --resume"] = (None, ["--out", str(existing)])
    return root, cases


@pytest.mark.parametrize("case", ["missing image", "'..' path", "truncated PNG", "existing run without --resume"])
def test_bad_input_is_one_line_and_exit_2_under_the_relaunch(bad_scenes, case, tmp_path):
    """The default preset (cpu) relaunches as mpirun -np 2: same line, same status as one process."""
    scene, extra = bad_scenes[1][case]
    out = extra or ["--out", str(tmp_path / "run")]
    command = [*JNEUSAMPLE, "train", *(["--data", str(scene)] if scene else []), "--no-progress", *out]
    single = subprocess.run(command, cwd=REPO, env=relaunch_env(JNEUSAMPLE_NO_RELAUNCH="1"), capture_output=True,
                            text=True, timeout=TIMEOUT)
    relaunched = run(command, relaunch_env())
    assert single.returncode == relaunched.returncode == 2, relaunched.stderr[-3000:]
    expected = error_lines(single.stderr)
    assert len(expected) == 1 and expected[0].startswith("error: "), single.stderr
    assert error_lines(relaunched.stderr) == expected
    no_banner(relaunched.stderr)


def test_bad_input_under_a_users_mpirun_is_said_once_by_rank_0(bad_scenes, tmp_path):
    scene, _ = bad_scenes[1]["missing image"]
    result = run(mpi_command(2, "-m", "jneusample", "train", "--data", str(scene), *TINY,
                             "--out", str(tmp_path / "run")))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith("error: ") and "r_1" in errors[0], result.stderr[-3000:]
    # mpirun -q drops OpenMPI's own banner too (documented in docs/distributed.md).
    # (the shared mpi_command forwards JNEUSAMPLE_PARAM_DIGEST_DIR; unset, OpenMPI warns about it even with -q)
    quiet = run([MPIRUN, "-q", *mpi_command(2, "-m", "jneusample", "train", "--data", str(scene), *TINY,
                                           "--out", str(tmp_path / "run"))[1:]],
                env=environment(JNEUSAMPLE_PARAM_DIGEST_DIR=str(tmp_path / "digests")))
    assert quiet.returncode == 2 and error_lines(quiet.stderr) == errors
    no_banner(quiet.stderr)


# --------------------------------------------------------------------------------------------------------
# Stop signals under the relaunch
# --------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    return write_blender_scene(tmp_path_factory.mktemp("scene") / "scene", size=16)


def train_command(scene: Path, run_dir: Path, *extra: str) -> list[str]:
    return [*JNEUSAMPLE, "train", "--data", str(scene), *TINY, *RELAUNCH, "--steps", "100000",
            "--out", str(run_dir), *extra]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_to_the_relaunched_command_stops_both_ranks_and_resumes_bit_exactly(scene, tmp_path, signum):
    run_dir = tmp_path / "run"
    process = start(train_command(scene, run_dir), relaunch_env())
    wait_for(lambda: len(checkpoints(run_dir)) >= 2, process, "second checkpoint")
    process.send_signal(signum)
    out, err = finish(process)
    assert process.returncode == 128 + signum, err[-3000:]
    name = signal.Signals(signum).name
    assert err.count(f"{name} received: stopping after the current step") == 1, err[-3000:]
    assert f"stopped by {name} at step" in err
    no_banner(err)
    step = assert_clean_stop(run_dir, err)
    assert json.loads(out.strip().splitlines()[-1])["step"] == step
    if signum != signal.SIGTERM:
        return
    # --resume continues bit-exactly: the same weights as a run that was never stopped.
    resumed = run(train_command(scene, run_dir, "--resume", "--stop-at", str(step + 3)), relaunch_env())
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    reference = run(train_command(scene, tmp_path / "reference", "--stop-at", str(step + 3)), relaunch_env())
    assert reference.returncode == 0, reference.stderr[-3000:]
    assert_same_weights(checkpoints(run_dir)[-1], checkpoints(tmp_path / "reference")[-1])


def test_sighup_during_start_up_is_not_lost(scene, tmp_path):
    """Sent while the ranks start (Jittor's import, the scene): the run stops at step 0 with a checkpoint."""
    run_dir = tmp_path / "run"
    process = start(train_command(scene, run_dir), relaunch_env())
    wait_for(lambda: len(rank_pids(process.pid)) == 2, process, "two ranks")
    process.send_signal(signal.SIGHUP)
    _, err = finish(process)
    assert process.returncode == 129, err[-3000:]
    no_banner(err)
    assert err.count("SIGHUP received") == 1
    assert_clean_stop(run_dir, err, step=0)


def test_sigint_to_the_relaunched_demo_stops_training_and_skips_the_evaluation(tmp_path):
    """The demo relaunches itself as 2 ranks as train does: Ctrl-C stops training with a checkpoint, says how to
    go on and exits 130; it does not go on to evaluate (it did, and rank 1 failed to find the checkpoint)."""
    run_dir = tmp_path / "demo"
    process = start([*JNEUSAMPLE, "demo", "--out", str(run_dir), "--no-progress"], relaunch_env())
    wait_for(lambda: (run_dir / "metrics.jsonl").exists() and (run_dir / "metrics.jsonl").stat().st_size > 0,
             process, "a logged training step")
    process.send_signal(signal.SIGINT)
    out, err = finish(process)
    assert process.returncode == 130, err[-3000:]
    no_banner(err)
    assert err.count("continue with: jneusample demo --out") == 1, err[-3000:]
    state = load_checkpoint(checkpoints(run_dir)[-1])
    assert state["world_size"] == 2 and f"stopped by SIGINT at step {state['step']} " in err
    assert not (run_dir / "eval_test").exists() and "error" not in err and "demo: trained" not in out


# --------------------------------------------------------------------------------------------------------
# A rank that dies
# --------------------------------------------------------------------------------------------------------

def test_a_killed_rank_ends_the_job_in_one_line_and_resume_is_bit_exact(scene, tmp_path):
    run_dir = tmp_path / "run"
    process = start(train_command(scene, run_dir), relaunch_env())
    wait_for(lambda: len(checkpoints(run_dir)) >= 2, process, "second checkpoint")
    victim = rank_pids(process.pid)[1]
    os.kill(victim, signal.SIGKILL)
    killed_at = time.time()
    out, err = finish(process, timeout=60)
    assert time.time() - killed_at < 30, "the job took long to end after a rank died"
    assert process.returncode == 137, err[-3000:]
    no_banner(err)
    errors = [line for line in err.splitlines() if line.startswith("error")]
    assert errors == [errors[0]] and errors[0].startswith("error: MPI rank 1 on ") and "SIGKILL" in errors[0]
    assert errors[0].endswith(f"continue with: jneusample train --out {run_dir} --resume")
    # Every checkpoint that has its final name loads; --resume continues from the newest, bit-exactly.
    steps = [load_checkpoint(path)["step"] for path in checkpoints(run_dir)]
    resumed = run(train_command(scene, run_dir, "--resume", "--stop-at", str(steps[-1] + 3)), relaunch_env())
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    reference = run(train_command(scene, tmp_path / "reference", "--stop-at", str(steps[-1] + 3)), relaunch_env())
    assert reference.returncode == 0, reference.stderr[-3000:]
    assert_same_weights(checkpoints(run_dir)[-1], checkpoints(tmp_path / "reference")[-1])


# --------------------------------------------------------------------------------------------------------
# A user's own mpirun
# --------------------------------------------------------------------------------------------------------

def users_mpirun(scene: Path, run_dir: Path, *extra: str) -> list[str]:
    return mpi_command(2, "-m", "jneusample", "train", "--data", str(scene), *TINY, "--steps", "100000",
                       "--out", str(run_dir), *extra)


def test_signal_to_a_rank_under_a_users_mpirun_stops_the_job_cleanly(scene, tmp_path):
    run_dir = tmp_path / "run"
    process = start(users_mpirun(scene, run_dir), environment())
    wait_for(lambda: len(checkpoints(run_dir)) >= 1, process, "first checkpoint")
    os.kill(rank_pids(process.pid)[1], signal.SIGINT)  # any one rank: they decide together
    _, err = finish(process)
    assert process.returncode == 130, err[-3000:]
    assert_clean_stop(run_dir, err)
    assert "stopped by SIGINT at step" in err


def test_sigint_to_a_users_mpirun_is_openmpis_sigterm(scene, tmp_path):
    """OpenMPI sends SIGTERM to every rank (then SIGKILL a second later) and exits 1: documented, checked."""
    run_dir = tmp_path / "run"
    process = start(users_mpirun(scene, run_dir), environment())
    wait_for(lambda: len(checkpoints(run_dir)) >= 1, process, "first checkpoint")
    process.send_signal(signal.SIGINT)
    _, err = finish(process)
    assert process.returncode == 1, err[-3000:]
    for path in checkpoints(run_dir):
        load_checkpoint(path)  # whatever OpenMPI cut short, the checkpoints with a final name load
    if "stopped by" in err:  # the ranks made it within OpenMPI's second: they say what they saw, and why
        assert "stopped by SIGTERM (from mpirun, which sends SIGTERM to the ranks for SIGINT" in err


def test_mpirun_with_a_hostfile(scene, tmp_path):
    hostfile = tmp_path / "hosts"
    hostfile.write_text("localhost slots=2\n")
    command = mpi_command(2, "-m", "jneusample", "train", "--data", str(scene), *TINY, "--steps", "6",
                          "--out", str(tmp_path / "run"))
    command[1:1] = ["--hostfile", str(hostfile)]
    result = run(command)
    assert result.returncode == 0, result.stderr[-3000:]
    state = load_checkpoint(checkpoints(tmp_path / "run")[-1])
    assert state["step"] == 6 and state["world_size"] == 2
