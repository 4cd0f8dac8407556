"""Users' own transforms.json: camera conventions, bounds, splits, normalisation, errors."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jneusample.data import detect_format, load_scene
from jneusample.data.llff import average_pose
from jneusample.data.transforms import estimate_centre, load_transforms
from jneusample.errors import InputError

CENTRE = np.array([1.0, 2.0, 3.0])


def look_at(position, target, up=(0.0, 0.0, 1.0)):
    """(4, 4) OpenGL camera-to-world at ``position`` looking at ``target``."""
    back = np.asarray(position, float) - target
    back /= np.linalg.norm(back)
    right = np.cross(up, back)
    right /= np.linalg.norm(right)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, np.cross(back, right), back, position
    return m


def ring_poses(n=10, radius=3.0, height=1.0):
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return [look_at(CENTRE + [radius * np.cos(a), radius * np.sin(a), height], CENTRE) for a in angles]


def forward_poses(n=10, seed=0):
    """Cameras spread on a small patch, all looking roughly along −y at a point 10 units away."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        pos = np.array([rng.uniform(-0.5, 0.5), 0.0, rng.uniform(-0.3, 0.3)])
        out.append(look_at(pos, np.array([0.0, -10.0, 0.0]) + rng.normal(0, 0.2, 3)))
    return out


def write_scene(root: Path, poses, meta=None, size=(16, 12), rgba=False, names=None, frame_extra=None):
    root.mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    frames = []
    for i, pose in enumerate(poses):
        name = names[i] if names else f"images/f{i:02d}.png"
        w, h = size if not isinstance(size, list) else size[i]
        pixels = np.full((h, w, 4 if rgba else 3), 100 + i, np.uint8)
        if rgba:
            pixels[..., 3] = 255
            pixels[0, 0, 3] = 0
        Image.fromarray(pixels).save(root / name)
        frame = {"file_path": name, "transform_matrix": np.asarray(pose).tolist()}
        frame.update((frame_extra or {}).get(i, {}))
        frames.append(frame)
    content = {"fl_x": 20.0, "fl_y": 22.0, "cx": 7.5, "cy": 6.5, "w": size[0] if not isinstance(size, list) else 16,
               "h": size[1] if not isinstance(size, list) else 12}
    content.update(meta or {})
    content["frames"] = frames
    (root / "transforms.json").write_text(json.dumps(content))
    return root


def test_pixel_edge_cx_becomes_pixel_index(tmp_path):
    root = write_scene(tmp_path / "s", ring_poses())
    k = load_transforms(root).intrinsics
    assert (k.width, k.height, k.fx, k.fy, k.cx, k.cy) == (16, 12, 20.0, 22.0, 7.0, 6.0)
    k2 = load_transforms(root, factor=2).intrinsics
    assert (k2.width, k2.height) == (8, 6)
    assert k2.fx == pytest.approx(10.0) and k2.fy == pytest.approx(11.0)
    assert k2.cx == pytest.approx(7.5 / 2 - 0.5) and k2.cy == pytest.approx(6.5 / 2 - 0.5)


def test_camera_angle_variant(tmp_path):
    ax, ay = 0.8, 0.7
    meta = {"fl_x": None, "fl_y": None, "cx": None, "cy": None, "w": None, "h": None}
    root = write_scene(tmp_path / "s", ring_poses(), meta={"camera_angle_x": ax})
    content = json.loads((root / "transforms.json").read_text())
    for key in meta:
        content.pop(key)
    (root / "transforms.json").write_text(json.dumps(content))
    k = load_transforms(root).intrinsics
    assert k.fx == pytest.approx(8.0 / math.tan(ax / 2)) and k.fy == k.fx
    assert (k.cx, k.cy) == (7.5, 5.5)  # image centre W/2 − 0.5 in the pixel-index convention
    content["camera_angle_y"] = ay
    (root / "transforms.json").write_text(json.dumps(content))
    assert load_transforms(root).intrinsics.fy == pytest.approx(6.0 / math.tan(ay / 2))


def test_declared_size_differs_with_same_aspect(tmp_path):
    root = write_scene(tmp_path / "s", ring_poses(), meta={"fl_x": 40.0, "fl_y": 44.0, "cx": 15.5, "cy": 11.5,
                                                           "w": 32, "h": 24})
    k = load_transforms(root).intrinsics
    assert (k.fx, k.fy, k.cx, k.cy) == (20.0, 22.0, 15.5 / 2 - 0.5, 11.5 / 2 - 0.5)
    write_scene(root, ring_poses(), meta={"w": 30, "h": 12})
    with pytest.raises(InputError, match=r"transforms.json: 'w'/'h' say 30x12 but the image is 16x12"):
        load_transforms(root)


def test_per_frame_camera_override(tmp_path):
    same = {i: {"fl_x": 20.0} for i in range(10)}
    root = write_scene(tmp_path / "s", ring_poses(), meta={"fl_x": 99.0}, frame_extra=same)
    assert load_transforms(root).intrinsics.fx == 20.0
    write_scene(root, ring_poses(), frame_extra={3: {"fl_x": 30.0}})
    with pytest.raises(InputError, match=r"transforms.json: frame 3 .* has a different camera"):
        load_transforms(root)


def test_near_far_given(tmp_path):
    root = write_scene(tmp_path / "s", ring_poses(), meta={"near": 0.5, "far": 7.0})
    scene = load_transforms(root, normalize=False)
    assert (scene.near, scene.far) == (0.5, 7.0)
    write_scene(root, ring_poses(), meta={"near_plane": 0.25, "far_plane": 9.0})
    scene = load_transforms(root, normalize=False)
    assert (scene.near, scene.far) == (0.25, 9.0)
    # normalisation scales them with the world: mean camera distance 3.16 → 4
    scaled = load_transforms(root)
    factor = 4.0 / math.hypot(3.0, 1.0)
    assert scaled.near == pytest.approx(0.25 * factor) and scaled.far == pytest.approx(9.0 * factor)


def test_near_far_estimated_bracket_the_look_at_point(tmp_path):
    poses = ring_poses()
    root = write_scene(tmp_path / "s", poses)
    scene = load_transforms(root, normalize=False)
    assert 0 < scene.near < scene.far
    for pose in poses:
        depth = np.dot(CENTRE - pose[:3, 3], -pose[:3, 2])
        assert scene.near < depth < scene.far
    centre, spread = estimate_centre(np.stack(poses)[:, :3])
    np.testing.assert_allclose(centre, CENTRE, atol=1e-9)
    assert spread > 0.3


def test_normalised_object_centric_world(tmp_path):
    root = write_scene(tmp_path / "s", ring_poses())
    scene = load_transforms(root)
    poses = np.concatenate([scene.splits["train"].c2w, scene.splits["test"].c2w])
    dist = np.linalg.norm(poses[:, :, 3], axis=1)
    np.testing.assert_allclose(dist.mean(), 4.0, rtol=1e-5)
    for pose in poses:  # every camera still looks at the centre, now the origin
        to_centre = -pose[:, 3] / np.linalg.norm(pose[:, 3])
        np.testing.assert_allclose(-pose[:, 2], to_centre, atol=1e-5)
    assert scene.near == pytest.approx(2.0, rel=1e-5) and scene.far == pytest.approx(6.0, rel=1e-5)
    assert not scene.ndc and scene.format == "transforms"
    path = scene.render_path
    assert path.shape == (120, 3, 4)
    np.testing.assert_allclose(np.linalg.norm(path[:, :, 3], axis=1), 4.0, rtol=1e-4)
    np.testing.assert_allclose(-path[:, :, 2], -path[:, :, 3] / 4.0, atol=1e-4)  # looking at the centre


def test_forward_facing_ndc(tmp_path):
    root = write_scene(tmp_path / "s", forward_poses(), meta={"near": 5.0, "far": 30.0, "ndc": True})
    scene = load_transforms(root)
    assert scene.ndc and (scene.near, scene.far) == (0.0, 1.0) and scene.batch_across_views
    poses = np.concatenate([scene.splits["train"].c2w, scene.splits["test"].c2w])
    np.testing.assert_allclose(average_pose(poses), np.eye(3, 4), atol=1e-5)
    assert scene.render_path.shape == (120, 3, 4)
    flipped = forward_poses()
    flipped[4] = flipped[4] @ np.diag([-1.0, 1.0, -1.0, 1.0])  # turned around
    write_scene(root, flipped, meta={"near": 5.0, "far": 30.0, "ndc": True})
    with pytest.raises(InputError, match=r"transforms.json: 'ndc' needs forward-facing cameras"):
        load_transforms(root)


def test_forward_facing_without_ndc_gets_spiral_and_bounds(tmp_path):
    root = write_scene(tmp_path / "s", forward_poses())
    scene = load_transforms(root)
    assert not scene.ndc and 0 < scene.near < scene.far
    assert scene.render_path.shape == (120, 3, 4) and np.all(np.isfinite(scene.render_path))


def test_holdout_sorted_by_file_path(tmp_path):
    poses = ring_poses(17)
    names = [f"images/f{i:02d}.png" for i in range(17)]
    order = np.random.default_rng(0).permutation(17)
    root = write_scene(tmp_path / "s", [poses[i] for i in order], names=[names[i] for i in order])
    scene = load_transforms(root)
    assert scene.splits["test"].names == ["f00", "f08", "f16"]
    assert scene.splits["val"].names == scene.splits["test"].names
    assert len(scene.splits["train"]) == 14 and "f08" not in scene.splits["train"].names
    assert load_transforms(root, testskip=3).splits["test"].names == ["f00"]
    assert detect_format(root) == "transforms"
    assert load_scene(root, quiet=True).format == "transforms"


def test_background(tmp_path):
    rgb = load_transforms(write_scene(tmp_path / "a", ring_poses()))
    assert not rgb.white_background
    rgba = load_transforms(write_scene(tmp_path / "b", ring_poses(), rgba=True))
    assert rgba.white_background
    image = rgba.splits["train"].images[0]
    assert image.shape[-1] == 3
    np.testing.assert_allclose(image[0, 0], 1.0)  # the transparent pixel is white


def test_extensionless_file_path(tmp_path):
    root = write_scene(tmp_path / "s", ring_poses())
    content = json.loads((root / "transforms.json").read_text())
    for frame in content["frames"]:
        frame["file_path"] = frame["file_path"][:-4]
    (root / "transforms.json").write_text(json.dumps(content))
    assert len(load_transforms(root).splits["train"]) == 8


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.pop("frames"), r"has no 'frames' list"),
        (lambda c: c["frames"][2].pop("transform_matrix"), r"frame 2 lacks 'file_path' or 'transform_matrix'"),
        (lambda c: c["frames"][1].update(transform_matrix=[[1, 0], [0, 1]]), r"frame 1: transform_matrix has shape"),
        (lambda c: [c.pop(k) for k in ("fl_x", "fl_y")], r"no camera: give 'fl_x'"),
        (lambda c: c.update(near=5.0, far=2.0), r"'far' \(2\) must be larger than 'near' \(5\)"),
        (lambda c: c.update(fl_x="wide"), r"'fl_x' must be a finite number"),
        (lambda c: c.update(camera_model="OPENCV_FISHEYE"), r"camera_model 'OPENCV_FISHEYE' is not supported"),
        (lambda c: c.update(ndc="yes"), r"'ndc' must be true or false"),
    ],
)
def test_bad_transforms(tmp_path, edit, message):
    root = write_scene(tmp_path / "s", ring_poses())
    content = json.loads((root / "transforms.json").read_text())
    edit(content)
    (root / "transforms.json").write_text(json.dumps(content))
    with pytest.raises(InputError, match=r"transforms.json: " + message):
        load_transforms(root)


def test_missing_image_and_size_mismatch(tmp_path):
    root = write_scene(tmp_path / "s", ring_poses())
    (root / "images" / "f04.png").unlink()
    with pytest.raises(InputError, match=r"f04.png: image file is missing"):
        load_transforms(root)
    sizes = [(16, 12)] * 10
    sizes[6] = (12, 16)
    write_scene(root, ring_poses(), size=sizes)
    with pytest.raises(InputError, match=r"f06.png: image is 12x16 but f00.png is 16x12"):
        load_transforms(root)


def test_invalid_json(tmp_path):
    root = tmp_path / "s"
    root.mkdir()
    (root / "transforms.json").write_text("{not json")
    with pytest.raises(InputError, match=r"transforms.json: not valid JSON"):
        load_transforms(root)
