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
