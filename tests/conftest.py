"""Shared fixtures: tiny scenes made by the tests themselves, and the path of the shared real data."""
from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
JNEUSAMPLE = [sys.executable, "-m", "jneusample"]
"""The CLI as a child process (``JNEUSAMPLE + ["train", ...]``)."""
ENGINE_CRASH = ("Caught segfault", "Could you please report this issue")
"""What Jittor's native code prints when it crashes itself (its segfault handler; its internal checks)."""


def run_command(command: list[str], timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run(command)`` in the repository, output captured as text, run a second time (with a
    warning, shown in pytest's summary) when the first died inside Jittor's native code: a signal, or one of
    :data:`ENGINE_CRASH`. Jittor 1.3.11 has crashed so, rarely and not reproducibly (a segfault in one CI run of
    the ~450 tests, an ``op_compiler.cc`` check in another; the segfaulted command then ran 43 times here
    without one), and one engine crash must not hide whether *our* code works; a crash on the rerun too fails
    the test. Assertion messages: :func:`failure_output`."""
    kwargs.setdefault("cwd", REPO)
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode < 0 or any(text in result.stderr for text in ENGINE_CRASH):
        warnings.warn(f"Jittor crashed (exit {result.returncode}) in {' '.join(map(str, command[:6]))} ...; "
                      f"rerunning once: {failure_output(result, 1500)}")
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    return result


def stop_once_written(command: list[str], written: Path, signum: int, timeout: float = 300) -> tuple[int, str, str]:
    """Start ``command`` as one process (no MPI relaunch), send it ``signum`` once ``written`` exists (e.g. its
    metrics.jsonl: a step was made), and return its (exit status, stdout, stderr)."""
    import os
    import time

    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "JNEUSAMPLE_NO_RELAUNCH": "1"})
    try:
        deadline = time.time() + timeout
        while time.time() < deadline and not written.exists() and process.poll() is None:
            time.sleep(0.2)
        process.send_signal(signum)
        out, err = process.communicate(timeout=timeout)
    finally:
        process.kill()
        process.wait()
    return process.returncode, out, err


def failure_output(result: subprocess.CompletedProcess, chars: int = 3000) -> str:
    """The tails of a finished command's stdout and stderr, for an assertion message (Jittor's crash handler
    writes its gdb backtrace to stdout, the rest to stderr)."""
    return (f"exit {result.returncode}\n--- stdout ---\n{result.stdout[-chars:]}\n"
            f"--- stderr ---\n{result.stderr[-chars:]}")


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test (with the reason) when that data is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the shared real data at {path} (absent on this machine)")
    return path


def look_at(eye, target=(0.0, 0.0, 0.0), up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """4x4 camera-to-world (OpenGL: camera looks down -z) at ``eye`` looking at ``target``."""
    eye, target, up = (np.asarray(v, np.float64) for v in (eye, target, up))
    back = eye - target
    back /= np.linalg.norm(back)
    right = np.cross(up, back)
    right /= np.linalg.norm(right)
    true_up = np.cross(back, right)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, true_up, back, eye
    return c2w


def write_blender_scene(root: Path, size: int = 16, views: dict[str, int] | None = None,
                        camera_angle_x: float = 0.8, seed: int = 0) -> Path:
    """A small Blender-format scene with random RGBA images and cameras on a sphere of radius 4."""
    views = views or {"train": 4, "val": 2, "test": 2}
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    count = 0
    for split, n in views.items():
        (root / split).mkdir(exist_ok=True)
        frames = []
        for i in range(n):
            angle = 2 * np.pi * count / 7.0
            count += 1
            eye = (4 * np.cos(angle) * 0.8, 4 * np.sin(angle) * 0.8, 4 * 0.6)
            pixels = (rng.random((size, size, 4)) * 255).astype(np.uint8)
            Image.fromarray(pixels, "RGBA").save(root / split / f"r_{i}.png")
            frames.append({"file_path": f"./{split}/r_{i}", "transform_matrix": look_at(eye).tolist()})
        (root / f"transforms_{split}.json").write_text(
            json.dumps({"camera_angle_x": camera_angle_x, "frames": frames}))
    return root


@pytest.fixture
def blender_scene(tmp_path) -> Path:
    return write_blender_scene(tmp_path / "scene")


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """A 4-step tiny run on the embedded demo scene (64x64), trained once for the whole session."""
    out = tmp_path_factory.mktemp("tiny_demo_run") / "run"
    result = run_command(JNEUSAMPLE + ["train", "--preset", "tiny", "--steps", "4", "--out", str(out), "--no-progress"])
    assert result.returncode == 0, failure_output(result)
    return out


def error_line(err: str) -> str:
    """The single ``error: ...`` line a failed command printed (the loader's ``data:`` line aside)."""
    lines = [line for line in err.strip().splitlines() if not line.startswith("data: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]
