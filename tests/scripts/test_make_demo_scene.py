"""scripts/make_demo_scene.py: writes a valid Blender-format scene whose images match its poses."""
from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_demo_scene.py"
SIZE = 16
COUNTS = {"train": 3, "val": 1, "test": 1}


def load_script():
    spec = importlib.util.spec_from_file_location("make_demo_scene", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def project(point, c2w, width, height, camera_angle_x):
    """Pixel (i = column, j = row) of a world point, with the NeRF/Blender pinhole convention."""
    c2w = np.asarray(c2w, dtype=np.float64)
    p_cam = c2w[:3, :3].T @ (np.asarray(point, dtype=np.float64) - c2w[:3, 3])
    assert p_cam[2] < 0, "point must be in front of the camera (down its -z axis)"
    focal = 0.5 * width / math.tan(0.5 * camera_angle_x)
    depth = -p_cam[2]
    return width / 2 + focal * p_cam[0] / depth, height / 2 - focal * p_cam[1] / depth


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_scene")
    cmd = [sys.executable, str(SCRIPT), "--out", str(out), "--size", str(SIZE), "--quiet"]
    for split, count in COUNTS.items():
        cmd += [f"--{split}", str(count)]
    subprocess.run(cmd, check=True, timeout=60)
    return out


def read_split(root: Path, split: str):
    meta = json.loads((root / f"transforms_{split}.json").read_text(encoding="utf-8"))
    images = []
    for frame in meta["frames"]:
        assert not frame["file_path"].endswith(".png")
        assert frame["file_path"].startswith(f"./{split}/r_")
        with Image.open(root / (frame["file_path"] + ".png")) as img:
            assert img.mode == "RGBA"
            assert img.size == (SIZE, SIZE)
            images.append(np.asarray(img))
    return meta, images


def test_files_and_json(scene):
    for split, count in COUNTS.items():
        assert (scene / f"transforms_{split}.json").is_file()
        meta, images = read_split(scene, split)
        assert meta["camera_angle_x"] == pytest.approx(0.6911112070083618)
        assert len(meta["frames"]) == count == len(images)
        for frame in meta["frames"]:
            c2w = np.asarray(frame["transform_matrix"])
            assert c2w.shape == (4, 4)
            np.testing.assert_allclose(c2w[3], [0, 0, 0, 1])
            np.testing.assert_allclose(c2w[:3, :3] @ c2w[:3, :3].T, np.eye(3), atol=1e-9)
            eye = c2w[:3, 3]
            assert np.linalg.norm(eye) == pytest.approx(4.0)
            elevation = math.degrees(math.asin(eye[2] / 4.0))
            assert 14.0 <= elevation <= 61.0
            # The camera looks at the origin down its -z axis.
            np.testing.assert_allclose(-c2w[:3, 2], -eye / np.linalg.norm(eye), atol=1e-9)


def test_val_and_test_cameras_differ_from_train(scene):
    eyes = {split: [np.asarray(f["transform_matrix"])[:3, 3] for f in read_split(scene, split)[0]["frames"]]
            for split in COUNTS}
    for split in ("val", "test"):
        for eye in eyes[split]:
            assert min(np.linalg.norm(eye - t) for t in eyes["train"]) > 0.05


def test_images_have_object_and_background(scene):
    for split in COUNTS:
        for rgba in read_split(scene, split)[1]:
            alpha = rgba[..., 3]
            assert (alpha == 255).sum() > 10
            assert (alpha == 0).sum() > 10
            # Everything lies well inside the field of view: the corners are background.
            assert alpha[0, 0] == alpha[0, -1] == alpha[-1, 0] == alpha[-1, -1] == 0
            assert (rgba[alpha == 0][:, :3] == 0).all()


def test_point_on_checker_sphere_projects_onto_opaque_pixel(scene):
    module = load_script()
    centre = np.asarray(module.CHECKER_SPHERE["center"])
    radius = module.CHECKER_SPHERE["radius"]
    for split in COUNTS:
        meta, images = read_split(scene, split)
        for frame, rgba in zip(meta["frames"], images):
            eye = np.asarray(frame["transform_matrix"])[:3, 3]
            # The point of the sphere nearest the camera: on the surface and visible from it.
            point = centre + radius * (eye - centre) / np.linalg.norm(eye - centre)
            i, j = project(point, frame["transform_matrix"], SIZE, SIZE, meta["camera_angle_x"])
            assert 0 <= i < SIZE and 0 <= j < SIZE
            assert rgba[int(round(j)), int(round(i)), 3] == 255


def test_image_is_not_mirrored():
    """A view from +x: the red sphere (at +y) must appear where the pinhole formula puts it."""
    module = load_script()
    c2w = module.look_at_origin(0.0, math.radians(30.0))
    size = 32
    rgba = module.render_view(c2w, size).astype(int)
    centre = np.asarray(module.RED_SPHERE["center"])
    eye = c2w[:3, 3]
    point = centre + module.RED_SPHERE["radius"] * (eye - centre) / np.linalg.norm(eye - centre)
    i, j = project(point, c2w, size, size, module.CAMERA_ANGLE_X)
    assert i > size / 2  # +y is to the right when looking from +x towards the origin
    r, g, b, a = rgba[int(round(j)), int(round(i))]
    assert a == 255 and r > 2 * g and r > 2 * b
