"""Camera paths (data/camera_paths.py): every path's cameras look where they should."""
from __future__ import annotations

import numpy as np
import pytest

from jneusample.data.camera_paths import average_pose, circle_path, spherical_path, spiral_path


def forward(c2w: np.ndarray) -> np.ndarray:
    """(n, 3) unit viewing directions (the cameras look down their −z axis)."""
    return -c2w[:, :3, 2] / np.linalg.norm(c2w[:, :3, 2], axis=1, keepdims=True)


def looks_at(c2w: np.ndarray, point: np.ndarray) -> np.ndarray:
    """(n,) cosine between each camera's viewing direction and the direction to ``point``."""
    to_point = point - c2w[:, :3, 3]
    return np.einsum("ni,ni->n", forward(c2w), to_point / np.linalg.norm(to_point, axis=1, keepdims=True))


def test_spherical_path_circles_the_origin_at_radius_4():
    poses = spherical_path(12)
    assert poses.shape == (12, 3, 4) and poses.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(poses[:, :3, 3], axis=1), 4.0, rtol=1e-6)
    np.testing.assert_allclose(looks_at(poses, np.zeros(3)), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.einsum("nij,nik->njk", poses[:, :3, :3], poses[:, :3, :3]),
                               np.broadcast_to(np.eye(3), (12, 3, 3)), atol=1e-6)  # rotations


def test_circle_path_looks_at_the_centre():
    rng = np.random.default_rng(0)
    centre = np.array([0.5, -1.0, 2.0])
    angles = rng.uniform(0, 2 * np.pi, 6)
    eyes = centre + np.stack([3 * np.cos(angles), 3 * np.sin(angles), np.full(6, 1.0)], axis=1)
    cameras = []
    for eye in eyes:
        back = (eye - centre) / np.linalg.norm(eye - centre)
        right = np.cross([0.0, 0.0, 1.0], back)
        right /= np.linalg.norm(right)
        cameras.append(np.stack([right, np.cross(back, right), back, eye], axis=1))
    poses = circle_path(np.array(cameras), centre, n_frames=9)
    assert poses.shape == (9, 3, 4)
    np.testing.assert_allclose(looks_at(poses, centre), 1.0, atol=1e-5)
    distance = np.linalg.norm(poses[:, :3, 3] - centre, axis=1)
    np.testing.assert_allclose(distance, distance[0], rtol=1e-5)  # a circle around the centre...
    assert abs(distance[0] - np.linalg.norm(eyes - centre, axis=1).mean()) < 0.05 * distance[0]  # ...at their range


def test_spiral_path_is_centred_on_the_average_pose():
    rng = np.random.default_rng(1)
    poses = np.tile(np.eye(3, 4), (8, 1, 1))
    poses[:, :, 3] = rng.normal(scale=0.1, size=(8, 3))
    path = spiral_path(poses, near=1.0, far=10.0, n_frames=30)
    assert path.shape == (30, 3, 4)
    centre = average_pose(poses)[:, 3]
    assert np.linalg.norm(path[:, :3, 3].mean(axis=0) - centre) < 0.1
    assert np.all(forward(path)[:, 2] < -0.9)  # all frames look down −z, like the capture


@pytest.mark.parametrize("name", ["spherical_path", "spiral_path", "circle_path"])
def test_loaders_use_the_same_paths(name):
    """The loaders' paths are these functions (re-exported or imported, not copies that could drift)."""
    from jneusample.data import camera_paths, llff, rays, transforms

    owner = {"spherical_path": rays, "spiral_path": llff, "circle_path": transforms}[name]
    assert getattr(owner, name) is getattr(camera_paths, name), f"{owner.__name__}.{name} is a copy"


# --------------------------------------------------------------------------------------------------------------
# Interpolation through training cameras
# --------------------------------------------------------------------------------------------------------------

def rotation_about(axis: str, degrees: float) -> np.ndarray:
    """(3, 3) right-handed rotation by ``degrees`` about the x, y or z axis."""
    c, s = np.cos(np.deg2rad(degrees)), np.sin(np.deg2rad(degrees))
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def pose(rotation: np.ndarray, position) -> np.ndarray:
    return np.concatenate([rotation, np.asarray(position, np.float64)[:, None]], axis=1)


@pytest.mark.parametrize("axis, degrees", [("x", 30.0), ("y", -120.0), ("z", 179.0), ("x", 180.0), ("y", 0.0)])
def test_quaternion_round_trip(axis, degrees):
    from jneusample.data.camera_paths import quaternion_to_rotation, rotation_to_quaternion

    r = rotation_about(axis, degrees)
    q = rotation_to_quaternion(r)
    assert q[0] >= 0 and abs(np.linalg.norm(q) - 1) < 1e-12
    np.testing.assert_allclose(quaternion_to_rotation(q), r, atol=1e-12)
    half = np.deg2rad(degrees) / 2  # hand-computed: q = (cos θ/2, sin θ/2 · axis)
    expected = np.array([np.cos(half), *(np.sin(half) * (np.array(list("xyz")) == axis))])
    np.testing.assert_allclose(q, expected if expected[0] >= 0 else -expected, atol=1e-12)


def test_slerp_halfway_and_the_short_way_round():
    from jneusample.data.camera_paths import quaternion_to_rotation, rotation_to_quaternion, slerp

    q0, q90 = rotation_to_quaternion(np.eye(3)), rotation_to_quaternion(rotation_about("z", 90.0))
    np.testing.assert_allclose(quaternion_to_rotation(slerp(q0, q90, 0.5)), rotation_about("z", 45.0), atol=1e-12)
    np.testing.assert_allclose(quaternion_to_rotation(slerp(q0, q90, 0.25)), rotation_about("z", 22.5), atol=1e-12)
    # −q is the same rotation: slerp still turns the 90° way, not the 270° one
    np.testing.assert_allclose(quaternion_to_rotation(slerp(q0, -q90, 0.5)), rotation_about("z", 45.0), atol=1e-12)
    np.testing.assert_allclose(slerp(q0, q0, 0.3), q0, atol=1e-12)  # no division by sin(0)


def test_interpolate_poses_passes_through_the_keys():
    from jneusample.data.camera_paths import interpolate_poses

    keys = np.stack([pose(rotation_about("y", 0.0), [0, 0, 0]), pose(rotation_about("y", 60.0), [1, 0, 0]),
                     pose(rotation_about("y", 120.0), [2, 0, 0])])
    path = interpolate_poses(keys, 9)  # u = 0, 0.25, ..., 2: the keys are frames 0, 4 and 8
    assert path.shape == (9, 3, 4) and path.dtype == np.float32
    np.testing.assert_allclose(path[[0, 4, 8]], keys, atol=1e-6)
    # equally spaced collinear keys: the spline is the straight line at constant speed (hand-computed 0.25 steps)
    np.testing.assert_allclose(path[:, :, 3], np.stack([np.linspace(0, 2, 9), np.zeros(9), np.zeros(9)], 1),
                               atol=1e-6)
    np.testing.assert_allclose(path[2, :, :3], rotation_about("y", 30.0), atol=1e-6)  # halfway: 30°
    np.testing.assert_allclose(np.einsum("nji,njk->nik", path[:, :, :3], path[:, :, :3]),
                               np.broadcast_to(np.eye(3), (9, 3, 3)), atol=1e-6)


def test_catmull_rom_is_smooth_at_the_keys():
    """Positions bend through the keys without a kink: the tangents on both sides of a key agree."""
    from jneusample.data.camera_paths import catmull_rom

    points = np.array([[0.0, 0, 0], [1, 1, 0], [2, 0, 0], [3, 2, 1]])
    eps = 1e-6
    before = (catmull_rom(points, 0, 1.0) - catmull_rom(points, 0, 1.0 - eps)) / eps
    after = (catmull_rom(points, 1, eps) - catmull_rom(points, 1, 0.0)) / eps
    np.testing.assert_allclose(before, after, atol=1e-4)
    np.testing.assert_allclose(after, (points[2] - points[0]) / 2, atol=1e-4)  # ½ the chord of the neighbours


def test_interpolated_path_picks_spread_training_views_in_order():
    from jneusample.data.camera_paths import interpolated_path, key_views

    assert key_views(17, 5) == [0, 4, 8, 12, 16]
    assert key_views(3, 5) == [0, 1, 2] and key_views(1, 5) == [0]
    cameras = spherical_path(17)
    path = interpolated_path(cameras, n_frames=21, keys=5)  # the keys are frames 0, 5, 10, 15, 20
    np.testing.assert_allclose(path[::5], cameras[[0, 4, 8, 12, 16]], atol=1e-5)
    single = interpolated_path(cameras[:1], n_frames=3)
    np.testing.assert_allclose(single, np.repeat(cameras[:1], 3, axis=0))


# --------------------------------------------------------------------------------------------------------------
# nerfstudio camera_path.json
# --------------------------------------------------------------------------------------------------------------

IDENTITY = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]


def camera_path_json(**top) -> dict:
    """A valid two-camera file (as nerfstudio's viewer writes it), with top-level keys replaced by ``top``."""
    moved = [1, 0, 0, 0.5, 0, 1, 0, -1.0, 0, 0, 1, 4.0, 0, 0, 0, 1]  # row-major: the translation is the last column
    meta = {"camera_type": "perspective", "render_width": 2, "render_height": 2, "fps": 24, "seconds": 1,
            "keyframes": [{"matrix": "ignored"}],
            "camera_path": [{"camera_to_world": IDENTITY, "fov": 90, "aspect": 1},
                            {"camera_to_world": moved, "fov": 60, "aspect": 1}]}
    meta.update(top)
    return meta


def test_identity_camera_with_fov_90_at_2x2_has_hand_computed_rays():
    """fy = (H/2)/tan(45°) = 1, principal point (1, 1): pixel (col i, row j) sees (i − 1, −(j − 1), −1)."""
    from jneusample.data.camera_paths import parse_camera_path
    from jneusample.data.rays import image_rays

    path = parse_camera_path(camera_path_json(), "cp.json")
    assert len(path) == 2 and (path.width, path.height, path.fps) == (2, 2, 24.0)
    camera = path.intrinsics(0)
    assert (camera.width, camera.height, camera.cx, camera.cy) == (2, 2, 1.0, 1.0)
    np.testing.assert_allclose([camera.fx, camera.fy], [1.0, 1.0], rtol=1e-12)
    origins, directions = image_rays(path.c2w[0], camera)
    np.testing.assert_allclose(directions, [[-1, 1, -1], [0, 1, -1], [-1, 0, -1], [0, 0, -1]], atol=1e-6)
    np.testing.assert_allclose(origins, 0.0)


def test_moved_camera_and_fov_60():
    """Row-major 16 numbers: the translation is elements 3, 7, 11; fov 60 → fy = 1/tan(30°) = √3 at H = 2."""
    from jneusample.data.camera_paths import parse_camera_path
    from jneusample.data.rays import image_rays

    path = parse_camera_path(camera_path_json(render_width=4), "cp.json")
    np.testing.assert_allclose(path.c2w[1], [[1, 0, 0, 0.5], [0, 1, 0, -1.0], [0, 0, 1, 4.0]])
    camera = path.intrinsics(1)
    np.testing.assert_allclose([camera.fx, camera.fy, camera.cx, camera.cy], [3 ** 0.5, 3 ** 0.5, 2.0, 1.0])
    origins, directions = image_rays(path.c2w[1], camera)
    np.testing.assert_allclose(directions[0], [-2 / 3 ** 0.5, 1 / 3 ** 0.5, -1], atol=1e-6)  # pixel (0, 0)
    np.testing.assert_allclose(origins[0], [0.5, -1.0, 4.0], atol=1e-6)
    assert (path.intrinsics(1, factor=2).width, path.intrinsics(1, factor=2).height) == (2, 1)


def test_nested_matrix_seconds_and_default_camera_type():
    from jneusample.data.camera_paths import parse_camera_path

    meta = camera_path_json()
    del meta["fps"], meta["camera_type"]
    meta["camera_path"][0]["camera_to_world"] = np.reshape(IDENTITY, (4, 4)).tolist()
    meta["seconds"] = 0.5
    path = parse_camera_path(meta, "cp.json")
    assert path.fps == 4.0  # two frames in half a second, as nerfstudio's renderer derives it
    np.testing.assert_allclose(path.c2w[0], np.eye(3, 4))


def test_read_camera_path_file(tmp_path):
    import json

    from jneusample.data.camera_paths import read_camera_path
    from jneusample.errors import InputError

    file = tmp_path / "camera_path.json"
    file.write_text(json.dumps(camera_path_json()))
    assert len(read_camera_path(file)) == 2
    with pytest.raises(InputError, match="does not exist"):
        read_camera_path(tmp_path / "missing.json")
    file.write_text("{not json")
    with pytest.raises(InputError, match="camera_path.json: not valid JSON"):
        read_camera_path(file)


def entry(index: int, **changes) -> dict:
    """A copy of the valid file whose camera ``index`` has ``changes`` (a value None deletes the key)."""
    meta = camera_path_json()
    for key, value in changes.items():
        if value is None:
            del meta["camera_path"][index][key]
        else:
            meta["camera_path"][index][key] = value
    return meta


def top(**changes) -> dict:
    meta = camera_path_json()
    for key, value in changes.items():
        if value is None:
            del meta[key]
        else:
            meta[key] = value
    return meta


@pytest.mark.parametrize("meta, message", [
    (entry(1, camera_to_world=None), "cp.json: camera_path[1]: missing key 'camera_to_world'"),
    (entry(1, fov=None), "cp.json: camera_path[1]: missing key 'fov'"),
    (entry(1, camera_to_world=IDENTITY[:12]), "cp.json: camera_path[1]: 'camera_to_world' must be 16 numbers"),
    (entry(0, camera_to_world=[IDENTITY[:8], IDENTITY[8:]]),
     "cp.json: camera_path[0]: 'camera_to_world' must be 16 numbers"),
    (entry(1, camera_to_world=IDENTITY[:15] + ["1"]), "cp.json: camera_path[1]: 'camera_to_world' must be 16 numbers"),
    (entry(1, camera_to_world=IDENTITY[:3] + [float("nan")] + IDENTITY[4:]),
     "cp.json: camera_path[1]: 'camera_to_world' has non-finite numbers"),
    (entry(1, camera_to_world=[2] + IDENTITY[1:]),
     "cp.json: camera_path[1]: the 3x3 rotation part of the pose is not orthonormal"),
    (entry(1, camera_to_world=IDENTITY[:12] + [0, 0, 1, 1]),
     "cp.json: camera_path[1]: 'camera_to_world' must end with the row 0 0 0 1"),
    (entry(1, fov=180), "cp.json: camera_path[1]: 'fov' must be a vertical field of view in degrees in (0, 180)"),
    (entry(1, fov=0), "cp.json: camera_path[1]: 'fov' must be"),
    (entry(0, fov=float("inf")), "cp.json: camera_path[0]: 'fov' must be"),
    (entry(0, fov="90"), "cp.json: camera_path[0]: 'fov' must be"),
    (entry(1, aspect=-1), "cp.json: camera_path[1]: 'aspect' must be a finite positive number"),
    (top(camera_path=[]), "cp.json: 'camera_path' must be a non-empty list"),
    (top(camera_path=[3]), "cp.json: camera_path[0]: expected an object"),
    (top(camera_path=None), "cp.json: missing key 'camera_path'"),
    (top(render_width=None), "cp.json: missing key 'render_width'"),
    (top(render_height=0), "cp.json: 'render_height' must be a positive integer"),
    (top(render_width=2.5), "cp.json: 'render_width' must be a positive integer"),
    (top(fps=None, seconds=None), "cp.json: missing key 'fps' (or 'seconds')"),
    (top(fps=float("nan")), "cp.json: 'fps' must be a finite positive number"),
    (top(camera_type="fisheye"), "cp.json: camera_type \"fisheye\" is not supported (only perspective)"),
    ([1, 2], "cp.json: expected a JSON object at the top level"),
])
def test_bad_camera_path_is_one_line_naming_file_and_entry(meta, message):
    from jneusample.data.camera_paths import parse_camera_path
    from jneusample.errors import InputError

    with pytest.raises(InputError) as error:
        parse_camera_path(meta, "cp.json")
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
