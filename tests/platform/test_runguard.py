"""Divergence stops training without writing NaN; SIGINT/SIGTERM/SIGHUP finish the step, checkpoint, exit 128+n."""
import json
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from conftest import REPO, error_line, failure_output, run_command, write_blender_scene
from jneusample.platform.checkpoint import list_checkpoints, load_checkpoint
from jneusample.cli import main
from jneusample.config import apply_overrides, preset
from jneusample.data import load_scene
from jneusample.errors import InputError
from jneusample.training.trainer import train


@pytest.fixture(scope="module")
def scene_root(tmp_path_factory):
    return write_blender_scene(tmp_path_factory.mktemp("scene") / "s", size=12)


def tiny(*overrides):
    return apply_overrides(preset("tiny"), list(overrides))


def test_divergence_stops_keeps_good_checkpoints_and_eval_refuses_nan(tmp_path, scene_root, capsys):
    scene = load_scene(scene_root, quiet=True)
    run = tmp_path / "run"
    with pytest.raises(InputError, match="diverged") as info:
        train(tiny("train.lr=1e30", "train.steps=200", "train.checkpoint_every=1", "train.keep_checkpoints=2",
                   "train.log_every=1"), scene, run, progress=False)
    assert "\n" not in str(info.value)
    for _, path in list_checkpoints(run):  # every kept checkpoint is finite (load_checkpoint refuses NaN)
        state = load_checkpoint(path)
        assert all(np.all(np.isfinite(v)) for v in state["model"].values())
    text = (run / "metrics.jsonl").read_text()
    assert "NaN" not in text and "Infinity" not in text
    # A checkpoint with NaN weights (made by hand) is refused by eval with one line.
    step, path = list_checkpoints(run)[-1] if list_checkpoints(run) else (None, None)
    if path is None:
        return
    state = load_checkpoint(path)
    name = next(iter(state["model"]))
    state["model"][name] = np.full_like(state["model"][name], np.nan)
    import pickle

    path.write_bytes(pickle.dumps(state))
    capsys.readouterr()
    code = main(["eval", "--run", str(run), "--checkpoint", str(path), "--lpips", "none", "--no-progress"])
    assert code == 2 and "non-finite weights" in error_line(capsys.readouterr().err)


def test_non_finite_config_values_are_refused(tmp_path, capsys):
    for value in ("inf", "-inf", "nan", "1e999"):
        code = main(["train", "--preset", "tiny", "--set", f"train.lr={value}", "--out", str(tmp_path / "r")])
        assert code == 2 and "train.lr must be a finite number" in capsys.readouterr().err


def test_sigterm_in_process_stops_after_a_step_with_a_checkpoint(tmp_path, scene_root):
    scene = load_scene(scene_root, quiet=True)
    run = tmp_path / "run"
    timer = threading.Timer(3.0, lambda: signal.raise_signal(signal.SIGTERM))
    previous = signal.getsignal(signal.SIGTERM)
    # The handler runs in the main thread, between two steps.
    timer.start()
    try:
        result = train(tiny("train.steps=100000", "train.checkpoint_every=100000"), scene, run, progress=False)
    finally:
        timer.cancel()
    assert result.stop_signal == signal.SIGTERM and result.stopped_early
    assert list_checkpoints(run)[-1][0] == result.step > 0
    assert signal.getsignal(signal.SIGTERM) == previous  # handlers restored


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGHUP, 129)])
def test_signal_to_the_cli_writes_a_checkpoint_and_says_how_to_resume(tmp_path, scene_root, sig, status):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "jneusample", "train", "--data", str(scene_root), "--preset", "tiny",
               "--out", str(run), "--no-progress", "--steps", "100000", "--set", "train.checkpoint_every=100000",
               "--set", "train.log_every=1"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and not (run / "metrics.jsonl").exists():
            time.sleep(0.2)
        process.send_signal(sig)
        out, err = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == status, err
    assert "Caught SIGINT" not in err  # Jittor's own handler did not run
    assert "--resume" in err and "Traceback" not in err
    step = json.loads(out.strip().splitlines()[-1])["step"]
    assert list_checkpoints(run)[-1][0] == step > 0
    if sig == signal.SIGINT:  # and the run continues from there
        done = run_command(command[:-6] + ["--steps", str(step + 2), "--resume"], timeout=300)
        assert done.returncode == 0, failure_output(done)
        assert list_checkpoints(run)[-1][0] == step + 2


_FORKED_CHILD = r"""
import os, signal, sys, time
from jneusample.platform import runguard
runguard.catch_early()
with runguard.held_during_import():  # as Jittor's import forks its compiler pool
    ready, tell = os.pipe()
    child = os.fork()
    if child == 0:  # the pool worker: up and waiting for work (minutes, in a run) until terminated
        os.write(tell, b"up")
        time.sleep(30)
        os._exit(0)
    assert signal.getsignal(signal.SIGTERM) is runguard._handle  # the parent keeps its handlers
os.read(ready, 2)
os.kill(child, signal.SIGTERM)
_, status = os.waitpid(child, 0)
print(os.WIFSIGNALED(status) and os.WTERMSIG(status))
"""


def test_a_child_forked_while_signals_are_held_can_be_terminated():
    # Jittor's import forks its compiler pool while our handlers are installed and signals held; a worker that
    # does not die of the pool's SIGTERM hangs the process at exit (seen: 2-rank trains that never ended).
    # A fresh interpreter: the state other tests leave in this one (Jittor imported, handlers) is not a start-up.
    result = subprocess.run([sys.executable, "-c", _FORKED_CHILD], capture_output=True, text=True, timeout=60,
                            cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(int(signal.SIGTERM))
