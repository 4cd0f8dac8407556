"""Ctrl-C (SIGINT) during the commands that read a run (``eval``, ``render``, ``export``, ``placement``): one
line, exit 130, no half-written output left behind.

Jittor's own C-level SIGINT handler would print "Caught SIGINT, quick exit" and exit 1 from wherever the
process is; the commands put Python's handler back (``commands.common.interruptible``).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import JNEUSAMPLE, REPO

SLOW_RENDER = {"JNEUSAMPLE_CHUNK_POINTS": "64"}
"""Tiny render chunks: the tiny run renders for minutes, so the signal surely arrives while it renders."""


def interrupted(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Start ``command``, send SIGINT a second after its scene is loaded (its ``data:`` line), and return its
    exit status and stderr (without that line)."""
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **env})
    try:
        first = []
        for line in process.stderr:  # the scene is loaded right before the first view or frame is rendered
            if line.startswith("data: "):
                break
            first.append(line)
        time.sleep(1.0)
        assert process.poll() is None, "the command ended before the signal: " + "".join(first)
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        process.wait(timeout=120)
    finally:
        process.kill()
        process.wait()
    return process.returncode, "".join(first) + rest


@pytest.mark.parametrize("command", ["eval", "render", "export", "placement"])
def test_ctrl_c_is_one_line_exit_130_and_no_output(run_dir, tmp_path, command):
    if command == "render" and shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg (apt-get install ffmpeg)")
    out = tmp_path / "out"
    out.mkdir()
    target = out / {"eval": "eval", "render": "v.mp4", "export": "depth", "placement": "p.json"}[command]
    argv = {"eval": ["eval", "--run", str(run_dir), "--split", "train", "--lpips", "none", "--no-progress",
                     "--out", str(target)],
            "render": ["render", "--run", str(run_dir), "--frames", "1000", "--no-progress", "--out", str(target)],
            "export": ["export", "--run", str(run_dir), "--format", "depth", "--split", "train", "--no-progress",
                       "--out", str(target)],
            "placement": ["placement", "--run", str(run_dir), "--split", "train", "--skip", "1", "--out",
                          str(target)]}
    status, err = interrupted(JNEUSAMPLE + argv[command], SLOW_RENDER)
    assert status == 130, err
    assert "Traceback" not in err and "Caught SIGINT" not in err, err
    assert err.strip().splitlines()[-1] == "interrupted", err
    assert list(out.iterdir()) == []  # no eval folder, no staging folder, no (temporary) video
