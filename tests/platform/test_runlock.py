"""One trainer per run directory: an OS lock, released by the kernel even on kill -9."""
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, write_blender_scene
from jneusample.config import apply_overrides, preset
from jneusample.data import load_scene
from jneusample.errors import InputError
from jneusample.platform.runlock import RunLock, lock_path
from jneusample.training.trainer import train

HOLD = "import sys, time; from jneusample.platform.runlock import RunLock; RunLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(600)"


def _holder(run):
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_second_trainer_is_refused_naming_the_pid_and_kill_9_frees_the_lock(tmp_path):
    run = tmp_path / "run"
    holder = _holder(run)
    try:
        with pytest.raises(InputError, match=f"in use by process {holder.pid}"):
            RunLock(run).acquire()
        scene = load_scene(write_blender_scene(tmp_path / "scene", size=8), quiet=True)
        config = apply_overrides(preset("tiny"), ["train.steps=1"])
        with pytest.raises(InputError, match=f"process {holder.pid}"):
            train(config, scene, run, progress=False)
        assert not (run / "config.json").exists() and not (run / "checkpoints").exists()  # nothing touched
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with RunLock(run) as lock:  # no stale lock after kill -9
        assert lock.held and lock_path(run).read_text().strip() == str(os.getpid())


def test_temporaries_are_cleaned_only_by_the_lock_holder(tmp_path):
    """A second trainer refused at the lock must not delete the first one's checkpoint being written."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    partial = run / "checkpoints" / ".step_00000005.ckpt.abc.tmp"
    partial.write_bytes(b"being written")
    holder = _holder(run)
    try:
        scene = load_scene(write_blender_scene(tmp_path / "scene", size=8), quiet=True)
        with pytest.raises(InputError, match="in use"):
            train(apply_overrides(preset("tiny"), ["train.steps=1"]), scene, run, progress=False)
        assert partial.exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_refused_fresh_run_leaves_no_folder(tmp_path):
    scene = load_scene(write_blender_scene(tmp_path / "scene", size=8), quiet=True)
    with pytest.raises(InputError, match="no checkpoint"):
        train(preset("tiny"), scene, tmp_path / "nothing", resume=True, progress=False)
    assert not (tmp_path / "nothing").exists()
