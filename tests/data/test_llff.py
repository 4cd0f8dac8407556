"""LLFF loader: axis reorder, rescale, recentre, holdout, spiral path, input validation, and the real fern."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jneusample.data import load_scene
from jneusample.data.llff import average_pose, load_llff
from jneusample.errors import InputError

FERN = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nerf_llff_data" / "fern"


def rotation(axis, angle):
    axis = np.asarray(axis, np.float64) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def opengl_poses(n, seed=0):
    """(n, 3, 4) forward-facing OpenGL camera-to-world poses with a tilted common orientation."""
    rng = np.random.default_rng(seed)
    base = rotation([0.3, 1.0, 0.2], 0.7)
    poses = []
    for _ in range(n):
        r = base @ rotation(rng.normal(size=3), rng.uniform(0.02, 0.15))
        t = np.array([5.0, -2.0, 3.0]) + rng.uniform(-1.0, 1.0, size=3)
        poses.append(np.concatenate([r, t[:, None]], axis=1))
    return np.stack(poses)


def to_llff_rows(gl_poses, hwf, bounds):
    """poses_bounds.npy rows: OpenGL [right, up, back] columns → LLFF [down, right, back]."""
    rows = []
    for pose, b in zip(gl_poses, bounds):
        llff = np.stack([-pose[:, 1], pose[:, 0], pose[:, 2], pose[:, 3]], axis=1)
        mat = np.concatenate([llff, np.asarray(hwf, np.float64)[:, None]], axis=1)
        rows.append(np.concatenate([mat.ravel(), b]))
    return np.array(rows)


def write_images(folder: Path, n, height, width, ext="png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        pixels = np.full((height, width, 3), (i * 20) % 256, np.uint8)
        pixels[0, 0] = (255, 0, 0)
        Image.fromarray(pixels).save(folder / f"img{i:03d}.{ext}")


def make_llff(root: Path, n=10, height=6, width=8, factor=2, focal=5.0, seed=0):
    root.mkdir(parents=True, exist_ok=True)
    gl = opengl_poses(n, seed)
    rng = np.random.default_rng(seed + 1)
    bounds = np.stack([rng.uniform(2.0, 3.0, n), rng.uniform(20.0, 30.0, n)], axis=1)
    hwf = (height * factor, width * factor, focal * factor)
    np.save(root / "poses_bounds.npy", to_llff_rows(gl, hwf, bounds))
    write_images(root / f"images_{factor}", n, height, width)
    return gl, bounds


def all_poses(scene):
    """Poses of all views in the original image order (test views are every 8th)."""
    n = len(scene.splits["train"]) + len(scene.splits["test"])
    out = np.zeros((n, 3, 4))
    test_idx = np.arange(n)[::8]
    train_idx = np.setdiff1d(np.arange(n), test_idx)
    out[test_idx] = scene.splits["test"].c2w
    out[train_idx] = scene.splits["train"].c2w
    return out


def test_reorder_rescale_recentre(tmp_path):
    gl, bounds = make_llff(tmp_path / "s")
    scene = load_llff(tmp_path / "s", factor=2)
    poses = all_poses(scene)
    sc = 1.0 / (0.75 * bounds.min())
    # the average pose becomes the identity
    np.testing.assert_allclose(average_pose(poses), np.eye(3, 4), atol=1e-5)
    # relative rotations of the OpenGL cameras are preserved (a wrong axis reorder would conjugate them)
    for i in range(len(gl)):
        for j in range(len(gl)):
            np.testing.assert_allclose(poses[i, :, :3].T @ poses[j, :, :3], gl[i, :, :3].T @ gl[j, :, :3],
                                       atol=1e-5)
            # camera j's centre seen from camera i, scaled by sc
            np.testing.assert_allclose(poses[i, :, :3].T @ (poses[j, :, 3] - poses[i, :, 3]),
                                       sc * gl[i, :, :3].T @ (gl[j, :, 3] - gl[i, :, 3]), atol=1e-5)
    assert scene.ndc and scene.near == 0.0 and scene.far == 1.0 and scene.ndc_near_plane == 1.0
    assert scene.format == "llff" and not scene.white_background and scene.batch_across_views


def test_bounds_without_ndc(tmp_path):
    _, bounds = make_llff(tmp_path / "s")
    scene = load_llff(tmp_path / "s", factor=2, ndc=False)
    assert not scene.ndc
    # min bound becomes 1/0.75; near is 0.9 of it
    assert scene.near == pytest.approx(0.9 / 0.75)
    assert scene.far == pytest.approx(bounds.max() / (0.75 * bounds.min()))


def test_intrinsics_scaled_by_image_ratio(tmp_path):
    make_llff(tmp_path / "s", height=6, width=8, factor=2, focal=5.0)
    scene = load_llff(tmp_path / "s", factor=2)
    k = scene.intrinsics
    assert (k.width, k.height) == (8, 6)
    assert k.fx == pytest.approx(5.0) and k.fy == pytest.approx(5.0)
    assert (k.cx, k.cy) == (4.0, 3.0)
    assert scene.splits["train"].images.shape == (8, 6, 8, 3)
    assert scene.splits["train"].images.dtype == np.float32


def test_holdout_split(tmp_path):
    make_llff(tmp_path / "s", n=17)
    scene = load_llff(tmp_path / "s", factor=2)
    assert scene.splits["test"].names == ["img000", "img008", "img016"]
    assert scene.splits["val"].names == scene.splits["test"].names
    assert len(scene.splits["train"]) == 14
    assert "img000" not in scene.splits["train"].names
    skipped = load_llff(tmp_path / "s", factor=2, testskip=2)
    assert skipped.splits["test"].names == ["img000", "img016"]


def test_spiral_path(tmp_path):
    _, bounds = make_llff(tmp_path / "s")
    scene = load_llff(tmp_path / "s", factor=2)
    path = scene.render_path
    assert path.shape == (120, 3, 4) and path.dtype == np.float32
    rot = path[:, :, :3].astype(np.float64)
    np.testing.assert_allclose(rot.transpose(0, 2, 1) @ rot, np.broadcast_to(np.eye(3), rot.shape), atol=1e-5)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-5)
    # every frame looks at the same focus point on the −z axis of the (identity) average pose
    sc = 1.0 / (0.75 * bounds.min())
    near, far = bounds.min() * sc, bounds.max() * sc
    focus = 1.0 / (0.25 / (0.9 * near) + 0.75 / (5.0 * far))
    target = np.array([0.0, 0.0, -focus])
    to_target = target - path[:, :, 3]
    to_target /= np.linalg.norm(to_target, axis=1, keepdims=True)
    np.testing.assert_allclose(-path[:, :, 2], to_target, atol=1e-5)
    # two turns: frame 0 and frame 60 coincide in x, y
    np.testing.assert_allclose(path[0, :2, 3], path[60, :2, 3], atol=1e-5)


def test_jpg_images_and_load_scene_dispatch(tmp_path):
    root = tmp_path / "s"
    make_llff(root, n=9)
    for p in (root / "images_2").iterdir():
        p.unlink()
    write_images(root / "images_2", 9, 6, 8, ext="JPG")
    scene = load_scene(root, factor=2, quiet=True)
    assert scene.format == "llff" and len(scene.splits["train"]) == 7


def test_builds_missing_factor_from_full_images(tmp_path):
    root = tmp_path / "s"
    make_llff(root, n=9, height=6, width=8, factor=2)
    (root / "images_2").rename(root / "other")
    write_images(root / "images", 9, 12, 16)
    scene = load_llff(root, factor=2)
    assert scene.splits["train"].images.shape[1:] == (6, 8, 3)
    assert scene.intrinsics.fx == pytest.approx(5.0)
    with pytest.raises(InputError, match=r"images_5.*cannot be downscaled by exactly 5"):
        load_llff(root, factor=5)


# --------------------------------------------------------------------------------------------------------------
# Bad input: one InputError naming the file
# --------------------------------------------------------------------------------------------------------------


def test_image_count_mismatch(tmp_path):
    root = tmp_path / "s"
    make_llff(root, n=9)
    (root / "images_2" / "img003.png").unlink()
    with pytest.raises(InputError, match=r"images_2: has 8 images but poses_bounds.npy has 9 poses"):
        load_llff(root, factor=2)


def test_missing_factor_folder_lists_existing(tmp_path):
    root = tmp_path / "s"
    make_llff(root, n=9)
    (root / "images_4").mkdir()
    with pytest.raises(InputError, match=r"images_8: folder is missing .*found: images_2/, images_4/"):
        load_llff(root, factor=8)


def write_rows(root: Path, rows, n_images=9):
    root.mkdir(parents=True, exist_ok=True)
    np.save(root / "poses_bounds.npy", rows)
    write_images(root / "images_2", n_images, 6, 8)


def good_rows(n=9):
    gl = opengl_poses(n)
    return to_llff_rows(gl, (12, 16, 10.0), np.tile([2.0, 20.0], (n, 1)))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r[:, :16], r"array has shape \(9, 16\), expected \(N, 17\)"),
        (lambda r: r.reshape(-1), r"array has shape \(153,\), expected \(N, 17\)"),
        (lambda r: np.where(np.arange(17) == 3, np.nan, r), r"row 0 has non-finite values"),
        (lambda r: np.concatenate([r[:, :15], np.tile([0.0, 5.0], (9, 1))], 1), r"row 0: near bound 0 is not positive"),
        (lambda r: np.concatenate([r[:, :15], np.tile([5.0, 4.0], (9, 1))], 1),
         r"row 0: far bound 4 is not beyond the near bound 5"),
        (lambda r: r.astype(str), r"expected a numeric array"),
    ],
)
def test_bad_poses_bounds(tmp_path, mutate, message):
    root = tmp_path / "s"
    write_rows(root, mutate(good_rows()))
    with pytest.raises(InputError, match=r"poses_bounds.npy: " + message):
        load_llff(root, factor=2)


def test_rotation_must_be_orthonormal(tmp_path):
    rows = good_rows()
    rows[2, 0] *= 3.0
    write_rows(tmp_path / "s", rows)
    with pytest.raises(InputError, match=r"poses_bounds.npy: row 2: the 3x3 rotation part .* not orthonormal"):
        load_llff(tmp_path / "s", factor=2)


def test_hwf_aspect_must_match_images(tmp_path):
    rows = to_llff_rows(opengl_poses(9), (16, 16, 10.0), np.tile([2.0, 20.0], (9, 1)))
    write_rows(tmp_path / "s", rows)
    with pytest.raises(InputError, match=r"poses_bounds.npy: images are 8x6 but the poses' hwf says 16x16"):
        load_llff(tmp_path / "s", factor=2)


def test_missing_poses_file(tmp_path):
    (tmp_path / "s").mkdir()
    with pytest.raises(InputError, match=r"poses_bounds.npy: file is missing"):
        load_llff(tmp_path / "s", factor=2)


def test_unreadable_npy(tmp_path):
    root = tmp_path / "s"
    write_rows(root, good_rows())
    (root / "poses_bounds.npy").write_bytes(b"this is not numpy")
    with pytest.raises(InputError, match=r"poses_bounds.npy: not a readable .npy array"):
        load_llff(root, factor=2)


def test_object_array_is_refused(tmp_path):
    root = tmp_path / "s"
    write_rows(root, good_rows())
    np.save(root / "poses_bounds.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match=r"poses_bounds.npy: not a readable .npy array"):
        load_llff(root, factor=2)


# --------------------------------------------------------------------------------------------------------------
# The real fern scene
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not FERN.is_dir(), reason=f"real LLFF data not available ({FERN} is absent)")
def test_real_fern_factor_8():
    scene = load_llff(FERN, factor=8)
    k = scene.intrinsics
    assert (k.height, k.width) == (378, 504)
    assert k.fx == pytest.approx(3260.52633 / 8, rel=1e-5) and (k.cx, k.cy) == (252.0, 189.0)
    assert len(scene.splits["train"]) + len(scene.splits["test"]) == 20
    assert len(scene.splits["test"]) == 3 and len(scene.splits["train"]) == 17
    assert scene.splits["test"].names == ["image000", "image008", "image016"]
    assert (scene.near, scene.far, scene.ndc) == (0.0, 1.0, True)
    assert scene.splits["train"].images.shape == (17, 378, 504, 3)
    assert scene.render_path.shape == (120, 3, 4)
    np.testing.assert_allclose(average_pose(all_poses(scene)), np.eye(3, 4), atol=1e-5)
    world = load_llff(FERN, factor=8, ndc=False)
    assert world.near == pytest.approx(1.2)
