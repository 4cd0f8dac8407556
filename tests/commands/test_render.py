"""The ``render`` subcommand: MP4 along the spiral and the test cameras, PNG frames, input errors."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import error_line  # noqa: F401  (shared helper)
from diskfull import disk_full  # noqa: F401  (fixture)
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
    import jneusample.outputs.video as video

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


@needs_ffmpeg
@pytest.mark.parametrize("layout", ["side", "separate"])
def test_disk_full_is_one_line_and_leaves_no_video(run_dir, tmp_path, capsys, disk_full, layout):  # noqa: F811
    """The video is fsynced before its rename, where a full disk shows (it used to exit 0 with a video that
    might not be on disk); the old video under the name is kept, no temporary file is left."""
    out = tmp_path / "v.mp4"
    out.write_bytes(b"the previous video")
    disk_full(".v.mp4.")  # the colour video's temporary file (.v.mp4.<random>.partial)
    code = main(["render", "--run", str(run_dir), "--frames", "2", "--layout", layout, "--no-progress",
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert error_line(err) == f"error: disk full: {out}"
    assert out.read_bytes() == b"the previous video"
    assert leftovers(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


@needs_ffmpeg
def test_ffmpeg_running_out_of_space_is_disk_full(tmp_path):
    """ffmpeg writes the video itself: its "No space left on device" becomes the same one line."""
    from jneusample.errors import InputError
    from jneusample.outputs.video import DISK_FULL_TEXT, VideoWriter

    assert DISK_FULL_TEXT == "No space left on device"
    writer = VideoWriter(tmp_path / "v.mp4", width=8, height=8)
    writer._process.kill()  # stands in for an ffmpeg that stopped on a full disk and said so
    writer._process.wait()
    writer._stderr.write(f"[out#0/mp4] Error writing trailer: {DISK_FULL_TEXT}\n".encode())
    with pytest.raises(InputError, match=f"^disk full: {tmp_path / 'v.mp4'}$"):
        writer.close()
    assert list(tmp_path.iterdir()) == []


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
    from jneusample.outputs.video import load_render_scene
    from jneusample.data import DEMO_SCENE

    scene = load_render_scene(DEMO_SCENE, factor=4, frames=5)
    assert scene.render_path.shape == (5, 3, 4)


def test_llff_spiral_frames_follow_request():
    """LLFF scenes: the loader's spiral, regenerated with the requested number of frames."""
    from conftest import shared_data
    from jneusample.outputs.video import load_render_scene

    scene = load_render_scene(shared_data("nerf_llff_data", "fern"), factor=8, frames=7)
    assert scene.render_path.shape == (7, 3, 4) and scene.ndc


# --------------------------------------------------------------------------------------------------------------
# --camera-path FILE.json (nerfstudio) and --path interpolate
# --------------------------------------------------------------------------------------------------------------

def demo_cameras(split: str, count: int):
    """The first ``count`` (4, 4) camera-to-world matrices of a demo split and its vertical fov in degrees."""
    import numpy as np

    from jneusample.data import DEMO_SCENE, load_scene

    scene = load_scene(DEMO_SCENE, factor=1)
    c2w = scene.split(split).c2w[:count].astype(np.float64)
    bottom = np.broadcast_to([0.0, 0.0, 0.0, 1.0], (len(c2w), 1, 4))
    fov = 2 * np.degrees(np.arctan(scene.intrinsics.height / 2 / scene.intrinsics.fy))
    return np.concatenate([c2w, bottom], axis=1), float(fov)


def write_camera_path(folder: Path, matrices, fov: float, width: int, height: int, **top) -> Path:
    """A nerfstudio-style camera_path.json with one camera per (4, 4) matrix (flattened row-major)."""
    import json

    meta = {"camera_type": "perspective", "render_width": width, "render_height": height, "fps": 12,
            "seconds": len(matrices) / 12, "keyframes": [],
            "camera_path": [{"camera_to_world": [float(v) for v in m.ravel()], "fov": fov, "aspect": width / height}
                            for m in matrices]}
    meta.update(top)
    path = folder / "camera_path.json"
    path.write_text(json.dumps(meta))
    return path


def png_frames(folder: Path, kind: str = "rgb"):
    """The ``NNNN_<kind>.png`` frames of a --png-dir as int arrays, in order."""
    import numpy as np
    from PIL import Image

    return [np.asarray(Image.open(p), dtype=np.int64) for p in sorted(folder.glob(f"*_{kind}.png"))]


@needs_ffmpeg
def test_camera_path_file_sets_size_and_fps(run_dir, tmp_path, capsys):
    import json

    matrices, fov = demo_cameras("test", 3)
    file = write_camera_path(tmp_path, matrices, fov, width=20, height=12)
    out = tmp_path / "path.mp4"
    assert main(["render", "--run", str(run_dir), "--camera-path", str(file), "--out", str(out),
                 "--no-progress"]) == 0
    assert probe(out) == (3, 40, 12)  # colour | depth at the file's 20x12
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["fps"], summary["path"], summary["camera_path"]) == (12.0, "camera-path", str(file))
    rate = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=r_frame_rate",
                           "-of", "csv=p=0", str(out)], capture_output=True, text=True, check=True).stdout.strip()
    assert rate == "12/1"


def test_camera_path_copy_of_a_test_view_renders_that_view(run_dir, tmp_path, monkeypatch):
    """A path camera with a test view's pose and field of view at the scene's size is that view: the frame equals
    `--path test`'s (up to one level of rounding: fx comes back from the fov). PNG frames only (no ffmpeg needed)."""
    import jneusample.outputs.video as video

    monkeypatch.setattr(video, "find_ffmpeg", lambda: None)
    matrices, fov = demo_cameras("test", 1)
    file = write_camera_path(tmp_path, matrices, fov, width=64, height=64)
    common = ["render", "--run", str(run_dir), "--out", str(tmp_path / "v.mp4"), "--no-progress"]
    assert main(common + ["--camera-path", str(file), "--png-dir", str(tmp_path / "file")]) == 0
    assert main(common + ["--path", "test", "--frames", "1", "--png-dir", str(tmp_path / "test")]) == 0
    for kind in ("rgb", "depth"):
        (mine,), (reference,) = png_frames(tmp_path / "file", kind), png_frames(tmp_path / "test", kind)
        assert mine.shape == reference.shape == (64, 64, 3)
        assert abs(mine - reference).max() <= 1, kind
    # --factor divides the file's size (not the run's factor); --frames takes the first cameras
    matrices, fov = demo_cameras("test", 3)
    file = write_camera_path(tmp_path, matrices, fov, width=20, height=12)
    assert main(common + ["--camera-path", str(file), "--factor", "2", "--frames", "2",
                          "--png-dir", str(tmp_path / "half")]) == 0
    assert [f.shape for f in png_frames(tmp_path / "half")] == [(6, 10, 3), (6, 10, 3)]


def test_interpolate_path_starts_at_the_first_training_view(run_dir, tmp_path, monkeypatch):
    import jneusample.outputs.video as video

    monkeypatch.setattr(video, "find_ffmpeg", lambda: None)
    common = ["render", "--run", str(run_dir), "--out", str(tmp_path / "v.mp4"), "--no-progress"]
    assert main(common + ["--path", "interpolate", "--frames", "3", "--png-dir", str(tmp_path / "smooth")]) == 0
    assert main(common + ["--path", "test", "--split", "train", "--frames", "1",
                          "--png-dir", str(tmp_path / "train")]) == 0
    smooth, (first,) = png_frames(tmp_path / "smooth"), png_frames(tmp_path / "train")
    assert len(smooth) == 3 and abs(smooth[0] - first).max() <= 1  # the path starts at training view 0
    assert abs(smooth[1] - first).max() > 1  # ...and moves on


@needs_ffmpeg
def test_interpolate_video(run_dir, tmp_path):
    out = tmp_path / "smooth.mp4"
    assert main(["render", "--run", str(run_dir), "--path", "interpolate", "--frames", "4", "--out", str(out),
                 "--no-progress"]) == 0
    assert probe(out) == (4, 128, 64)


@pytest.mark.parametrize("argv, top, message", [
    (["--path", "test"], {}, "--camera-path FILE and --path are exclusive"),
    (["--factor", "3"], {"render_width": 2, "render_height": 2}, "--factor 3 is larger than the size of"),
    ([], {"camera_type": "fisheye"}, "camera_path.json: camera_type \"fisheye\" is not supported"),
    ([], {"camera_path": []}, "camera_path.json: 'camera_path' must be a non-empty list"),
])
def test_bad_camera_path_inputs(run_dir, tmp_path, capsys, argv, top, message):
    matrices, fov = demo_cameras("test", 1)
    file = write_camera_path(tmp_path, matrices, fov, width=8, height=8, **top)
    out = tmp_path / "v.mp4"
    assert main(["render", "--run", str(run_dir), "--camera-path", str(file), "--out", str(out), "--no-progress",
                 *argv]) == 2
    assert message in error_line(capsys.readouterr().err)
    assert not out.exists()


def test_missing_camera_path_file(run_dir, tmp_path, capsys):
    missing = tmp_path / "nope.json"
    assert main(["render", "--run", str(run_dir), "--camera-path", str(missing), "--out", str(tmp_path / "v.mp4"),
                 "--no-progress"]) == 2
    assert error_line(capsys.readouterr().err) == f"error: {missing}: camera path file does not exist"


@pytest.mark.parametrize("ndc", [False, True])
def test_camera_rays_with_the_scenes_camera_are_scene_rays(ndc):
    """A path camera equal to the scene's gives the training rays; NDC keeps the training camera's space."""
    import numpy as np

    from jneusample.data.rays import scene_rays
    from jneusample.data.scene import Intrinsics, Scene
    from jneusample.outputs.video import camera_rays

    camera = Intrinsics(width=6, height=4, fx=5.0, fy=5.0, cx=3.0, cy=2.0)
    scene = Scene(name="s", format="llff", root=Path("."), intrinsics=camera, splits={}, near=0.0, far=1.0, ndc=ndc)
    c2w = np.array([[1, 0, 0, 0.1], [0, 1, 0, -0.2], [0, 0, 1, 0.3]], np.float32)
    for mine, reference in zip(camera_rays(scene, c2w, camera), scene_rays(scene, c2w)):
        np.testing.assert_allclose(mine, reference, atol=1e-6)
    # a wider camera sees other world rays, but its NDC is the training camera's: the centre ray agrees
    wide = Intrinsics(width=6, height=4, fx=2.0, fy=2.0, cx=3.0, cy=2.0)
    centre = 2 * 6 + 3  # pixel (col 3, row 2): on the optical axis for both cameras
    for mine, reference in zip(camera_rays(scene, c2w, wide), scene_rays(scene, c2w)):
        np.testing.assert_allclose(mine[centre], reference[centre], atol=1e-6)
