import json

import numpy as np
import pytest
from PIL import Image

from conftest import shared_data, write_blender_scene
from jneusample.data import load_scene
from jneusample.data.blender import load_blender
from jneusample.data.rays import pixel_rays
from jneusample.data.scene import Intrinsics
from jneusample.errors import InputError


def test_loads_splits_composites_on_white_and_downscales(tmp_path):
    root = write_blender_scene(tmp_path / "s", size=16)
    scene = load_blender(root)
    assert set(scene.splits) == {"train", "val", "test"}
    assert scene.splits["train"].images.shape == (4, 16, 16, 3)
    raw = np.asarray(Image.open(root / "train" / "r_0.png"), np.float32) / 255.0
    expected = raw[..., :3] * raw[..., 3:] + (1 - raw[..., 3:])
    np.testing.assert_allclose(scene.splits["train"].images[0], expected, atol=1e-6)
    half = load_blender(root, factor=2)
    assert half.splits["train"].images.shape == (4, 8, 8, 3)
    np.testing.assert_allclose(half.splits["train"].images[0, 0, 0], expected[:2, :2].mean(axis=(0, 1)), atol=1e-6)
    assert half.intrinsics.fx == pytest.approx(scene.intrinsics.fx / 2)
    assert (scene.near, scene.far) == (2.0, 6.0)


def test_testskip_thins_val_and_test_only(tmp_path):
    root = write_blender_scene(tmp_path / "s", size=8, views={"train": 5, "val": 4, "test": 4})
    scene = load_blender(root, testskip=2)
    assert len(scene.splits["train"]) == 5 and len(scene.splits["test"]) == 2


def test_ray_passes_through_hand_projected_point():
    # Camera at (0, 0, 4) looking down -z (identity rotation); focal 100, 64x64 pixels, cx = cy = 32.
    c2w = np.eye(4)[:3].copy()
    c2w[2, 3] = 4.0
    intr = Intrinsics(width=64, height=64, fx=100.0, fy=100.0, cx=32.0, cy=32.0)
    point = np.array([0.5, -0.25, 1.0])  # camera coords: (0.5, -0.25, -3) -> u = 32 + 100*0.5/3, v = 32 + 100*0.25/3
    u, v = 32 + 100 * 0.5 / 3, 32 + 100 * 0.25 / 3
    origins, directions = pixel_rays(c2w, intr, np.array([u]), np.array([v]))
    t = (point - origins[0])[2] / directions[0][2]
    np.testing.assert_allclose(origins[0] + t * directions[0], point, atol=1e-5)
    assert directions[0][2] == pytest.approx(-1.0)  # z-normalised, distances are depths


def test_downscaled_intrinsics_keep_rays_through_the_footprint_centre():
    intr = Intrinsics(width=800, height=800, fx=1111.0, fy=1111.0, cx=400.0, cy=400.0)
    small = intr.downscaled(8)
    c2w = np.eye(4)[:3]
    # Output pixel 3 averages input pixels 24..31, whose mean index is 27.5.
    _, d_small = pixel_rays(c2w, small, np.array([3]), np.array([5]))
    _, d_full = pixel_rays(c2w, intr, np.array([27.5]), np.array([43.5]))
    np.testing.assert_allclose(d_small, d_full, atol=1e-6)


def test_real_lego_at_factor_8():
    root = shared_data("nerf_synthetic", "lego")
    scene = load_scene(root, factor=8, testskip=8, quiet=True)
    assert scene.splits["train"].images.shape == (100, 100, 100, 3)
    assert len(scene.splits["test"]) == 25
    assert scene.intrinsics.fx == pytest.approx(138.8889, rel=1e-4)


def _frames(root):
    return json.loads((root / "transforms_train.json").read_text())


@pytest.mark.parametrize("corrupt, message", [
    (lambda root: (root / "transforms_train.json").write_text("{not json"), "not valid JSON"),
    (lambda root: (root / "transforms_train.json").write_text(json.dumps({"camera_angle_x": 0.7})), "no 'frames'"),
    (lambda root: (root / "train" / "r_1.png").unlink(), "missing"),
    (lambda root: (root / "train" / "r_1.png").write_bytes(b"not a png"), "unreadable"),
    (lambda root: Image.new("RGBA", (9, 9)).save(root / "train" / "r_2.png"), "same size"),
])
def test_bad_scene_files_give_one_line_errors(tmp_path, corrupt, message):
    root = write_blender_scene(tmp_path / "s", size=8)
    corrupt(root)
    with pytest.raises(InputError) as info:
        load_blender(root)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(root) in str(info.value)


@pytest.mark.parametrize("matrix, message", [
    ([[1, 0, 0], [0, 1, 0], [0, 0, 1]], "expected 4x4"),
    ([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, float("nan")], [0, 0, 0, 1]], "non-finite"),
    ("identity", "not a numeric"),
])
def test_bad_poses(tmp_path, matrix, message):
    root = write_blender_scene(tmp_path / "s", size=8)
    meta = _frames(root)
    meta["frames"][1]["transform_matrix"] = matrix
    (root / "transforms_train.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match=message):
        load_blender(root)


def test_missing_transforms_file(tmp_path):
    root = write_blender_scene(tmp_path / "s", size=8)
    (root / "transforms_train.json").unlink()
    with pytest.raises(InputError, match="unknown scene format"):
        load_scene(root, quiet=True)
