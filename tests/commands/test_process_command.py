"""``jneusample process`` end to end with COLMAP (pycolmap) on fern's 20 real photos, on a video made from them,
and on photos that cannot register (random noise)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jneusample.cli import main
from conftest import JNEUSAMPLE, failure_output, run_command, shared_data

pytest.importorskip("pycolmap", reason="jneusample process needs pycolmap (pip install -e . installs it)")
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg (scripts/setup.sh installs it)")


def llff_cameras(scene: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{name: (centre, viewing direction)} from poses_bounds.npy: the 3x5 pose's 4th column is the centre and
    its 3rd the camera's 'back' axis (LLFF's [down, right, back]; see jneusample/data/llff.py)."""
    poses = np.load(scene / "poses_bounds.npy")[:, :15].reshape(-1, 3, 5)
    names = sorted(p.name for p in (scene / "images_8").iterdir())
    return {name: (pose[:, 3], -pose[:, 2]) for name, pose in zip(names, poses)}


@pytest.fixture(scope="module")
def fern_scene(tmp_path_factory) -> tuple[Path, str]:
    """fern's images_8 processed once for this module: (the scene folder, the command's stderr)."""
    images = shared_data("nerf_llff_data", "fern", "images_8")
    out = tmp_path_factory.mktemp("process") / "fern"
    result = subprocess.run(JNEUSAMPLE + ["process", "--images", str(images), "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, failure_output(result)
    assert "of 20 images registered" in result.stdout
    return out, result.stderr


def test_fern_registers_and_matches_the_llff_poses(fern_scene):
    from jneusample.data.align import pose_errors

    out, stderr = fern_scene
    meta = json.loads((out / "transforms.json").read_text())
    assert len(meta["frames"]) >= 19
    assert meta["ndc"] is True and meta["camera_model"] == "PINHOLE"  # forward-facing; images undistorted
    assert meta["distortion_removed"]["camera_model"] == "OPENCV" and "k1" in meta["distortion_removed"]
    assert sorted(p.name for p in out.iterdir()) == ["colmap", "images", "transforms.json"]  # nothing half-written
    assert {p.name for p in (out / "colmap").iterdir()} == {"database.db", "sparse", "undistorted"}
    # the progress: five stages, each started and finished, counted where COLMAP lets us count
    for stage in range(1, 6):
        assert f"process [{stage}/5] " in stderr
    assert "images, done in" in stderr and "images registered, done in" in stderr
    # poses in transforms.json (OpenGL axes, centred and scaled) against LLFF's: a similarity apart
    reference = llff_cameras(shared_data("nerf_llff_data", "fern"))
    frames = [(Path(f["file_path"]).name, np.array(f["transform_matrix"])) for f in meta["frames"]]
    ours_c = np.array([c2w[:3, 3] for _, c2w in frames])
    ours_f = np.array([-c2w[:3, 2] for _, c2w in frames])
    ref_c = np.array([reference[name][0] for name, _ in frames])
    ref_f = np.array([reference[name][1] for name, _ in frames])
    errors = pose_errors(ours_c, ours_f, ref_c, ref_f)
    assert errors["centre_error_mean"] <= 0.05, errors
    assert errors["direction_error_max_deg"] <= 2.0, errors
    # the world is centred and scaled: cameras 4 units from the origin on average
    assert np.linalg.norm(ours_c, axis=1).mean() == pytest.approx(4.0, rel=0.05)


def test_processed_fern_loads_and_trains(fern_scene, tmp_path):
    from jneusample.data import load_scene

    out, _ = fern_scene
    scene = load_scene(out, quiet=True)
    assert scene.format == "transforms" and scene.ndc
    assert len(scene.splits["train"].c2w) + len(scene.splits["test"].c2w) >= 19
    run = tmp_path / "run"
    result = run_command(JNEUSAMPLE + ["train", "--data", str(out), "--preset", "tiny", "--steps", "2",
                                       "--factor", "4", "--out", str(run), "--no-progress"],
                         env={**os.environ, "JNEUSAMPLE_NO_RELAUNCH": "1"})
    assert result.returncode == 0, failure_output(result)
    assert (run / "checkpoints").is_dir() and json.loads((run / "scene.json").read_text())["format"] == "transforms"


def test_photos_that_do_not_register_are_one_line(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray((rng.random((96, 128, 3)) * 255).astype(np.uint8)).save(tmp_path / f"noise{i}.png")
    # a child process: COLMAP's own log goes to file descriptor 2, which only a child's stderr shows
    result = subprocess.run(JNEUSAMPLE + ["process", "--images", str(tmp_path), "--out", str(tmp_path / "scene"),
                                          "--no-progress"], capture_output=True, text=True, timeout=300)
    err = result.stderr
    assert result.returncode == 2, failure_output(result)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: registered 0 of 3 images in --images "), err
    assert "fewer than the 3 needed" in lines[0] and "try " in lines[0]
    assert not (tmp_path / "scene").exists()  # nothing half-written
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".scene")]  # no staging folder left


@needs_ffmpeg
def test_video_of_fern(tmp_path):
    images = shared_data("nerf_llff_data", "fern", "images_8")
    video = tmp_path / "fern.mp4"
    encode = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-framerate", "4", "-pattern_type", "glob",
                             "-i", str(images / "*.png"), "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p",
                             str(video)], capture_output=True, text=True)
    assert encode.returncode == 0, encode.stderr
    out = tmp_path / "scene"
    result = subprocess.run(JNEUSAMPLE + ["process", "--video", str(video), "--fps", "4", "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, failure_output(result)
    frames = sorted(p.name for p in (out / "frames").iterdir())
    assert frames[0] == "frame_00001.jpg" and len(frames) in (20, 21)  # ffmpeg's fps filter may repeat the last
    assert re.search(rf"process \[1/6\] extracting frames at 4 fps {len(frames)} frames, done in", result.stderr)
    assert "matching (sequential, " in result.stderr
    meta = json.loads((out / "transforms.json").read_text())
    assert len(meta["frames"]) >= 15 and meta["ndc"] is True


def test_bad_video_is_one_line(tmp_path, capsys):
    (tmp_path / "clip.mp4").write_text("not a video")
    assert main(["process", "--video", str(tmp_path / "clip.mp4"), "--out", str(tmp_path / "scene")]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "ffmpeg could not extract frames" in lines[0], err
    assert not (tmp_path / "scene").exists()


def test_pycolmap_is_not_imported_by_other_commands():
    code = "import sys; from jneusample.cli import build_parser; build_parser(); print('pycolmap' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", failure_output(result)
