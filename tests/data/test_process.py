"""The parts of ``jneusample process`` that need no COLMAP run (jneusample.data.process): input checks, the
world normalisation, the conversion of an undistorted model, progress lines, error messages."""
from __future__ import annotations

import io
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jneusample.cli import main
from jneusample.data.process import (ColmapResult, ProcessOptions, StageProgress, check_images, extract_frames,
    forward_facing, image_pairs, list_images, normalise_world, scene_centre, scene_meta, too_few_registered)
from jneusample.errors import InputError
from conftest import look_at


def write_png(path: Path, size=(8, 6)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 100, 50)).save(path)
    return path


def test_list_and_check_images(tmp_path):
    with pytest.raises(InputError, match="folder does not exist"):
        list_images(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("not a photo")
    with pytest.raises(InputError, match="no images"):
        list_images(tmp_path)
    paths = [write_png(tmp_path / f"b{i}.PNG") for i in range(3)]
    assert list_images(tmp_path) == sorted(paths)
    assert check_images(paths) == (8, 6)
    with pytest.raises(InputError, match="at least 3"):
        check_images(paths[:2])
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(InputError, match=r"broken\.jpg: unreadable image"):
        check_images(paths + [tmp_path / "broken.jpg"])
    other = write_png(tmp_path / "c.png", size=(6, 8))
    with pytest.raises(InputError, match=r"c\.png: 6x8 pixels, but b0\.PNG is 8x6"):
        check_images(paths + [other])


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg (scripts/setup.sh installs it)")
def test_extract_frames_errors_are_one_line(tmp_path):
    with pytest.raises(InputError, match="file does not exist"):
        extract_frames(tmp_path / "missing.mp4", tmp_path / "frames", 2.0)
    (tmp_path / "video.mp4").write_text("this is not a video\n")
    with pytest.raises(InputError, match="ffmpeg could not extract frames") as caught:
        extract_frames(tmp_path / "video.mp4", tmp_path / "frames", 2.0)
    assert "\n" not in str(caught.value)
    with pytest.raises(InputError, match="--fps must be a positive number"):
        extract_frames(tmp_path / "video.mp4", tmp_path / "frames", 0.0)


def test_normalise_world_by_hand():
    # cameras 4 and 2 from the centre: mean distance 3 → scale 4/3
    c2w = np.stack([np.eye(4), np.eye(4)])
    c2w[0, :3, 3], c2w[1, :3, 3] = [5.0, 1.0, 1.0], [-1.0, 1.0, 1.0]
    new, scale = normalise_world(c2w, np.array([1.0, 1.0, 1.0]))
    assert scale == pytest.approx(4.0 / 3.0)
    np.testing.assert_allclose(new[:, :3, 3], [[16 / 3, 0, 0], [-8 / 3, 0, 0]])
    np.testing.assert_array_equal(new[:, :3, :3], c2w[:, :3, :3])


def test_scene_centre_is_the_median_of_the_points():
    points = np.array([[0.0, 0, 0], [1, 10, 1], [2, 2, 2], [3, 3, 3], [1000, 4, 4]])  # medians of 0,1,2,3,1000 and 0,10,2,3,4
    np.testing.assert_allclose(scene_centre(points, np.zeros((2, 3))), [2.0, 3.0, 2.0])
    np.testing.assert_allclose(scene_centre(None, np.array([[0.0, 0, 0], [2, 4, 6]])), [1.0, 2.0, 3.0])


def test_forward_facing_or_object_centric():
    plane = np.stack([look_at((x, y, 5.0), (x, y, 0.0), up=(0, 1, 0)) for x in (-1, 0, 1) for y in (-1, 1)])
    assert forward_facing(plane)  # parallel optical axes
    ring = np.stack([look_at((4 * math.cos(a), 4 * math.sin(a), 1.0)) for a in np.linspace(0, 2 * math.pi, 8, False)])
    assert not forward_facing(ring)  # axes meet from all around


def test_image_pairs_by_hand():
    assert image_pairs(20, ProcessOptions(matcher="exhaustive")) == 190
    # overlap 2: offsets {1, 2} ∪ {2^0, 2^1} = {1, 2}: 4 + 3 pairs among 5 frames
    assert image_pairs(5, ProcessOptions(matcher="sequential", sequential_overlap=2)) == 7
    # overlap 10 among 30: offsets 1..10 (29 + 28 + ... + 20 = 245) and 16 (14 pairs); 32 and up: none
    assert image_pairs(30, ProcessOptions(matcher="sequential")) == 259


def test_too_few_registered_message():
    options = ProcessOptions(matcher="sequential", fps=2.0)
    result = ColmapResult(None, 3, 20, 2)
    message = too_few_registered(result, "--video clip.mp4", options, video=True)
    assert message.startswith("registered 3 of 20 images in --video clip.mp4 (COLMAP split them into 2 separate "
                              "models), fewer than the 10 needed")
    assert "--matcher exhaustive" in message and "--fps than 2" in message and "\n" not in message
    assert too_few_registered(ColmapResult(None, 10, 20, 1), "x", options, video=True) is None
    assert too_few_registered(ColmapResult(None, 2, 3, 1), "x", ProcessOptions(), video=False).startswith(
        "registered 2 of 3 images in x, fewer than the 3 needed")


def test_stage_progress_lines_in_a_log():
    stream = io.StringIO()
    stages = StageProgress(2, stream=stream, interval=1000)
    stages.start("SIFT features")
    stages.count(3, 20, "images")
    stages.start("matching")
    stages.finish(failed=True)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "process [1/2] SIFT features 0:00"
    assert lines[1].startswith("process [1/2] SIFT features 3/20 images, done in ")
    assert lines[2] == "process [2/2] matching 0:00"
    assert lines[3].startswith("process [2/2] matching ") and lines[3].endswith(" failed")
    assert "done" not in lines[3]


# A pinhole model by hand: three cameras with identity rotation at (0,0,0), (1,0,0), (0,1,0) (COLMAP
# t = −R·C), all seeing three points; fx = fy = 50, principal point (50, 40), images 100x80.
POINTS = {1: (0.0, 0.0, 5.0), 2: (1.0, 1.0, 6.0), 3: (0.5, 0.5, 4.0)}
CENTRES = {1: (0.0, 0.0, 0.0), 2: (1.0, 0.0, 0.0), 3: (0.0, 1.0, 0.0)}


def write_model(folder: Path, images: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "cameras.txt").write_text("1 PINHOLE 100 80 50 50 50 40\n")
    lines = []
    for image_id, centre in CENTRES.items():
        t = -np.array(centre)
        observations = " ".join(f"1.0 1.0 {pid}" for pid in POINTS)
        lines += [f"{image_id} 1 0 0 0 {t[0]} {t[1]} {t[2]} 1 view{image_id}.png", observations]
        write_png(images / f"view{image_id}.png", size=(100, 80))
    (folder / "images.txt").write_text("\n".join(lines) + "\n")
    (folder / "points3D.txt").write_text("".join(f"{pid} {x} {y} {z} 0 0 0 0\n" for pid, (x, y, z) in POINTS.items()))


def test_scene_meta_centres_scales_and_keeps_every_projection(tmp_path):
    write_model(tmp_path / "sparse", tmp_path / "scene" / "images")
    original = {"camera_model": "OPENCV", "k1": 0.05}
    meta = scene_meta(tmp_path / "sparse", tmp_path / "scene" / "images", tmp_path / "scene" / "transforms.json",
                      original, ndc=None)
    # centre: per-axis median of the points (0.5, 0.5, 5); every camera is √25.5 from it → scale 4/√25.5
    scale = 4.0 / math.sqrt(25.5)
    assert meta["world_from_colmap"]["centre"] == [0.5, 0.5, 5.0]
    assert meta["world_from_colmap"]["scale"] == pytest.approx(scale)
    first = np.array(meta["frames"][0]["transform_matrix"])
    np.testing.assert_allclose(first[:3, 3], scale * np.array([-0.5, -0.5, -5.0]))
    np.testing.assert_allclose(first[:3, :3], np.diag([1.0, -1.0, -1.0]))  # COLMAP's +z forward → OpenGL's −z
    # near/far: convert's percentiles of the depths 4, 5, 6, scaled with the world
    assert meta["near"] == pytest.approx(0.9 * np.percentile([4, 5, 6], 0.1) * scale)
    assert meta["far"] == pytest.approx(np.percentile([4, 5, 6], 99.9) * scale)
    assert meta["ndc"] is True  # parallel optical axes: forward-facing
    assert meta["distortion_removed"] == original and meta["generator"] == "jneusample process"
    assert [f["file_path"] for f in meta["frames"]] == ["images/view1.png", "images/view2.png", "images/view3.png"]
    # every point projects to the same pixel through the new cameras as through COLMAP's
    for frame, (image_id, centre) in zip(meta["frames"], CENTRES.items()):
        c2w = np.array(frame["transform_matrix"])
        for point in POINTS.values():
            x, y, z = np.array(point) - np.array(centre)  # COLMAP camera coordinates (R = I)
            expected = (50 * x / z + 50, 50 * y / z + 40)
            local = c2w[:3, :3].T @ (scale * (np.array(point) - [0.5, 0.5, 5.0]) - c2w[:3, 3])  # OpenGL camera
            got = (meta["cx"] + meta["fl_x"] * local[0] / -local[2], meta["cy"] - meta["fl_y"] * local[1] / -local[2])
            np.testing.assert_allclose(got, expected, atol=1e-9)
    assert scene_meta(tmp_path / "sparse", tmp_path / "scene" / "images", tmp_path / "scene" / "transforms.json",
                      original, ndc=False)["ndc"] is False


def test_options_and_output_are_checked_before_any_work(tmp_path, capsys):
    images = tmp_path / "photos"
    for i in range(3):
        write_png(images / f"{i}.png")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    cases = [
        (["--images", str(images), "--out", str(tmp_path / "taken")], "already exists and is not empty"),
        (["--images", str(tmp_path / "none"), "--out", str(tmp_path / "s")], "--images .*none: folder does not exist"),
        (["--images", str(images), "--out", str(tmp_path / "s"), "--min-registered", "1.5"], "--min-registered must"),
        (["--images", str(images), "--out", str(tmp_path / "s"), "--max-image-size", "4"], "--max-image-size must"),
    ]
    for argv, message in cases:
        assert main(["process", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
        assert re.search(message, err), err
    assert not (tmp_path / "s").exists()
