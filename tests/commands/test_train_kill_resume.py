"""``kill -9`` of a CLI training, then ``train --resume``: the final weights equal an uninterrupted run's."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np

from conftest import REPO, failure_output, run_command, write_blender_scene
from jneusample.platform.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint

STEPS = 200
"""Long enough that the run is still going when its first checkpoint appears (checkpoints every 5 steps)."""
JOB_TIMEOUT = 600
"""A hang guard only (a loaded 2-core machine can be slow); nothing is asserted about durations."""


def command(scene, run, *extra: str) -> list[str]:
    return [sys.executable, "-m", "jneusample", "train", "--data", str(scene), "--preset", "tiny",
            "--steps", str(STEPS), "--out", str(run), "--no-progress",
            "--set", "train.checkpoint_every=5", "--set", "train.log_every=5", *extra]


def final_weights(run) -> dict[str, np.ndarray]:
    state = load_checkpoint(latest_checkpoint(run))
    assert state["step"] == STEPS
    return state["model"]


def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path):
    scene = write_blender_scene(tmp_path / "scene", size=12)
    killed = tmp_path / "killed"
    process = subprocess.Popen(command(scene, killed), cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + JOB_TIMEOUT
        while not list_checkpoints(killed) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        _, err = process.communicate()
    assert process.returncode == -signal.SIGKILL, f"the training ended by itself first: {err.decode()[-2000:]}"
    interrupted_at = list_checkpoints(killed)[-1][0]
    assert interrupted_at < STEPS

    resumed = run_command(command(scene, killed, "--resume"), timeout=JOB_TIMEOUT)
    assert resumed.returncode == 0, failure_output(resumed)
    once = run_command(command(scene, tmp_path / "once"), timeout=JOB_TIMEOUT)
    assert once.returncode == 0, failure_output(once)

    a, b = final_weights(tmp_path / "once"), final_weights(killed)
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name]), f"{name} differs after kill -9 at step <= {interrupted_at + 5}"
