"""NDC rays (NeRF appendix C): the ray maps to the projected ray, its origin lands on the z = −1 plane."""
from __future__ import annotations

import numpy as np
import pytest

from jneusample.data.rays import ndc_rays, pixel_rays
from jneusample.data.scene import Intrinsics

K = Intrinsics(width=40, height=30, fx=35.0, fy=33.0, cx=20.0, cy=15.0)


def project(points, k: Intrinsics, near_plane):
    """NeRF's NDC projection of camera-frame points (z < 0): (−fx/(W/2)·x/z, −fy/(H/2)·y/z, 1 + 2n/z)."""
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    return np.stack([-(k.fx / (k.width / 2)) * x / z, -(k.fy / (k.height / 2)) * y / z, 1 + 2 * near_plane / z], -1)


def some_rays(seed=0):
    rng = np.random.default_rng(seed)
    c2w = np.concatenate([np.eye(3), rng.uniform(-0.2, 0.2, (3, 1))], axis=1)
    cols, rows = rng.integers(0, K.width, 50), rng.integers(0, K.height, 50)
    return pixel_rays(c2w, K, cols, rows)


@pytest.mark.parametrize("near_plane", [1.0, 0.5])
def test_points_on_a_ray_map_onto_the_ndc_ray(near_plane):
    o, d = some_rays()
    o_ndc, d_ndc = ndc_rays(o, d, K, near_plane)
    for depth in (1.5, 3.0, 10.0, 1000.0):
        t = (depth + o[:, 2]) / -d[:, 2]  # world point at z = −depth on each ray
        points = o.astype(np.float64) + t[:, None] * d
        target = project(points, K, near_plane)
        # the NDC parameter of that point is where its NDC z is reached along the NDC ray
        t_ndc = (target[:, 2] - o_ndc[:, 2]) / d_ndc[:, 2]
        assert np.all((t_ndc > 0) & (t_ndc < 1))
        np.testing.assert_allclose(o_ndc + t_ndc[:, None] * d_ndc, target, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("near_plane", [1.0, 2.0])
def test_origin_on_minus_one_plane_and_ray_ends_at_plus_one(near_plane):
    o, d = some_rays(1)
    o_ndc, d_ndc = ndc_rays(o, d, K, near_plane)
    np.testing.assert_allclose(o_ndc[:, 2], -1.0, atol=1e-6)  # the near plane z = −n maps to −1
    np.testing.assert_allclose(o_ndc[:, 2] + d_ndc[:, 2], 1.0, atol=1e-6)  # infinity maps to +1 at t = 1
    # the origin is the projection of where the ray crosses the near plane
    t = -(near_plane + o[:, 2]) / d[:, 2]
    crossing = o.astype(np.float64) + t[:, None] * d
    np.testing.assert_allclose(o_ndc, project(crossing, K, near_plane), atol=1e-5)


def test_centre_pixel_of_a_camera_at_origin_stays_on_the_axis():
    o, d = pixel_rays(np.eye(3, 4), K, np.array([K.cx]), np.array([K.cy]))
    o_ndc, d_ndc = ndc_rays(o, d, K, 1.0)
    np.testing.assert_allclose(o_ndc, [[0.0, 0.0, -1.0]], atol=1e-7)
    np.testing.assert_allclose(d_ndc, [[0.0, 0.0, 2.0]], atol=1e-7)


def test_image_corners_map_to_the_ndc_square_edges():
    # a camera at the origin: the ray through the image edge x = W/2 pixels from the centre ends at x_ndc = ±1
    o, d = pixel_rays(np.eye(3, 4), K, np.array([K.cx + K.width / 2, K.cx - K.width / 2]), np.array([K.cy, K.cy]))
    o_ndc, _ = ndc_rays(o, d, K, 1.0)
    np.testing.assert_allclose(o_ndc[:, 0], [1.0, -1.0], atol=1e-6)
