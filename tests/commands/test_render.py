"""The ``render`` subcommand: MP4 along the spiral and the test cameras, PNG frames, input errors."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import error_line  # noqa: F401  (shared helper)
from jneusample.cli import main

REPO = Path(__file__).resolve().parents[2]
HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
needs_ffmpeg = pytest.mark.skipif(not HAVE_FFMPEG, reason="needs ffmpeg and ffprobe (apt-get install ffmpeg)")



def probe(path: Path) -> tuple[int, int, int]:
    """(frames, width, height) of the first video stream, as ffprobe decodes it."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
         "stream=nb_read_frames,width,height", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True)
    width, height, frames = (int(v) for v in result.stdout.strip().split(","))
    return frames, width, height



def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".partial"]


@needs_ffmpeg
def test_spiral_side_by_side(run_dir, tmp_path, capsys):
    out = tmp_path / "videos" / "spiral.mp4"  # the folder does not exist yet
    assert main(["render", "--run", str(run_dir), "--frames", "3", "--out", str(out), "--no-progress"]) == 0
    assert probe(out) == (3, 128, 64)  # colour | depth, 64x64 each
    assert leftovers(out.parent) == []
    assert '"frames": 3' in capsys.readouterr().out


@needs_ffmpeg
def test_test_path_separate_with_pngs(run_dir, tmp_path):
    out = tmp_path / "test.mp4"
    pngs = tmp_path / "frames"
    assert main(["render", "--run", str(run_dir), "--path", "test", "--frames", "2", "--layout", "separate",
                 "--out", str(out), "--png-dir", str(pngs), "--no-progress"]) == 0
    assert probe(out) == (2, 64, 64)
    assert probe(tmp_path / "test_depth.mp4") == (2, 64, 64)
    assert sorted(p.name for p in pngs.iterdir()) == ["0000_depth.png", "0000_rgb.png", "0001_depth.png",
                                                        "0001_rgb.png"]


@needs_ffmpeg
def test_test_path_renders_all_views_by_default(run_dir, tmp_path):
    out = tmp_path / "all.mp4"
    assert main(["render", "--run", str(run_dir), "--path", "test", "--out", str(out), "--no-progress",
                 "--factor", "4"]) == 0
    assert probe(out) == (8, 32, 16)  # the demo scene has 8 test views; 64/4 = 16, two panels side by side


def test_without_ffmpeg(run_dir, tmp_path, capsys, monkeypatch):
    import jneusample.video as video

    monkeypatch.setattr(video, "find_ffmpeg", lambda: None)
    out = tmp_path / "v.mp4"
    assert main(["render", "--run", str(run_dir), "--frames", "2", "--out", str(out), "--no-progress"]) == 2
    assert "apt-get install ffmpeg" in error_line(capsys.readouterr().err)
    # with --png-dir it falls back to the PNG frames, and says so
    pngs = tmp_path / "frames"
    assert main(["render", "--run", str(run_dir), "--frames", "2", "--out", str(out), "--png-dir", str(pngs),
                 "--no-progress"]) == 0
    assert len(list(pngs.glob("*_rgb.png"))) == 2 and not out.exists()
    assert "ffmpeg not found" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--path", "circle"], "--path 'circle'"),
    (["--layout", "stacked"], "--layout 'stacked'"),
    (["--frames", "0"], "--frames"),
    (["--fps", "0"], "--fps"),
    (["--out", "{tmp}/video.gif"], "must be an .mp4"),
    (["--out", "{tmp}/afile/video.mp4"], "not writable"),
    (["--out", "/proc/video.mp4"], "not writable"),
    (["--path", "test", "--split", "nope"], "no split 'nope'"),
])
def test_bad_inputs(run_dir, tmp_path, capsys, argv, message):
    (tmp_path / "afile").write_text("not a folder")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "v.mp4")]
    assert main(["render", "--run", str(run_dir), "--frames", "1", "--no-progress", *argv]) == 2
    assert message in error_line(capsys.readouterr().err)
    assert not (tmp_path / "v.mp4").exists()


def test_run_without_checkpoint(run_dir, tmp_path, capsys):
    empty = tmp_path / "empty_run"
    empty.mkdir()
    shutil.copy(run_dir / "config.json", empty / "config.json")
    shutil.copy(run_dir / "scene.json", empty / "scene.json")
    assert main(["render", "--run", str(empty), "--out", str(tmp_path / "v.mp4"), "--no-progress"]) == 2
    assert "no checkpoint" in error_line(capsys.readouterr().err)
    assert main(["render", "--run", str(tmp_path / "missing"), "--out", str(tmp_path / "v.mp4")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_spiral_frames_follow_request():
    """Blender scenes: the render path is the spherical path generalised to --frames."""
    from jneusample.video import load_render_scene
    from jneusample.data import DEMO_SCENE

    scene = load_render_scene(DEMO_SCENE, factor=4, frames=5)
    assert scene.render_path.shape == (5, 3, 4)


def test_llff_spiral_frames_follow_request():
    """LLFF scenes: the loader's spiral, regenerated with the requested number of frames."""
    from conftest import shared_data
    from jneusample.video import load_render_scene

    scene = load_render_scene(shared_data("nerf_llff_data", "fern"), factor=8, frames=7)
    assert scene.render_path.shape == (7, 3, 4) and scene.ndc
