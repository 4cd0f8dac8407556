"""The pure geometry of ``jneusample export`` (jneusample/outputs/export.py), against hand-computed values.

Nothing here imports Jittor: the model-facing parts are tested end to end in tests/commands/test_export.py.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from conftest import look_at
from jneusample.data.rays import ndc_rays, pixel_rays
from jneusample.data.scene import Intrinsics
from jneusample.errors import InputError
from jneusample.outputs.export import (ExportOptions, MAX_RESOLUTION, camera_depths, camera_ray_norms, check_options,
    check_resolution, density_grid, depth_png, inward_view_dirs, mesh_from_grid, mesh_to_world, ndc_to_world,
    outward_view_dirs, parse_bounds, png16_bytes, points_from_depth, radiance_field_of, scene_box, surface_colour,
    surface_from_render, world_to_ndc, write_ply, z_depth_from_ray_distance)

# 4x4 pixels, focal 2, principal point at pixel (2, 2): pixel (col 3, row 0) looks along (0.5, 1, −1), norm 1.5
SMALL = Intrinsics(width=4, height=4, fx=2.0, fy=2.0, cx=2.0, cy=2.0)
NDC_CAMERA = Intrinsics(width=8, height=6, fx=5.0, fy=5.0, cx=4.0, cy=3.0)


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(F, 3) normals by the right-hand rule of each face's winding (length: twice its area)."""
    v = vertices[faces].astype(np.float64)
    return np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])


def outward_share(vertices: np.ndarray, faces: np.ndarray, middle: np.ndarray) -> float:
    """The share of the faces (with an area) whose normal points away from ``middle`` (3,)."""
    normals = face_normals(vertices, faces)
    real = np.linalg.norm(normals, axis=1) > 1e-12
    away = np.einsum("fi,fi->f", normals, vertices[faces].mean(axis=1) - middle) > 0
    return float(away[real].mean())


# ----------------------------------------------------------------------------------------------- depth geometry


def test_z_depth_and_ray_distance_of_a_known_pixel():
    c2w = np.eye(4)[:3]  # at the origin, looking down −z
    origins, directions = pixel_rays(c2w, SMALL, np.array([3]), np.array([0]))
    np.testing.assert_allclose(directions[0], [0.5, 1.0, -1.0])
    point = points_from_depth(origins, directions, np.array([2.0]))  # z = 2 along the un-normalised d
    np.testing.assert_allclose(point[0], [1.0, 2.0, -2.0])
    distance, z_depth = camera_depths(point, c2w)
    np.testing.assert_allclose(distance, [3.0])  # 2 · ‖(0.5, 1, −1)‖ = 2 · 1.5
    np.testing.assert_allclose(z_depth, [2.0])
    norms = camera_ray_norms(SMALL)
    assert norms[0, 3] == pytest.approx(1.5) and norms[2, 2] == pytest.approx(1.0)
    z_map = z_depth_from_ray_distance(np.full((4, 4), 3.0), SMALL)
    assert z_map[0, 3] == pytest.approx(2.0) and z_map[2, 2] == pytest.approx(3.0)


def test_camera_depths_do_not_depend_on_where_the_camera_is():
    c2w = look_at((1.0, -2.0, 3.0), target=(0.0, 0.5, 0.0))[:3]
    origins, directions = pixel_rays(c2w, SMALL, np.array([3]), np.array([0]))
    distance, z_depth = camera_depths(points_from_depth(origins, directions, np.array([2.0])), c2w)
    np.testing.assert_allclose([distance[0], z_depth[0]], [3.0, 2.0], rtol=1e-6)


def test_surface_from_render_leaves_out_the_last_sample():
    # weights 0.2, 0.3, 0.5 at z = 2, 3, 5: Σ w z = 3.8, Σ w = 1; without the last sample 0.5 and 1.3 / 0.5
    opacity, z = surface_from_render(np.array([3.8, 0.0]), np.array([1.0, 0.0]), np.array([0.5, 0.0]),
                                     np.array([5.0, 6.0]))
    np.testing.assert_allclose(opacity, [0.5, 0.0])
    np.testing.assert_allclose(z, [2.6, 0.0])


def test_surface_colour_takes_out_the_white_background():
    # a surface of colour 0.6 at opacity 0.5 on white renders as 0.5 · 0.6 + 0.5 = 0.8
    colour = surface_colour(np.array([[0.8, 0.8, 0.8]]), np.array([0.5]), white_background=True)
    np.testing.assert_allclose(colour, [[0.6, 0.6, 0.6]])
    np.testing.assert_allclose(surface_colour(np.array([[0.3, 0.0, 0.1]]), np.array([0.5]), False), [[0.6, 0, 0.2]])


# ----------------------------------------------------------------------------------------------------------- NDC


def test_ndc_by_hand():
    # NDC (0.5, 0, 0): z = 2n/(0 − 1) = −2, x = −0.5 · (−2) · W/(2fx) = 0.8
    np.testing.assert_allclose(ndc_to_world(np.array([[0.5, 0.0, 0.0]]), NDC_CAMERA), [[0.8, 0.0, -2.0]])
    np.testing.assert_allclose(world_to_ndc(np.array([[0.8, 0.0, -2.0]]), NDC_CAMERA), [[0.5, 0.0, 0.0]])
    # the near plane z = −n is NDC z = −1; NDC z = 1 is infinitely far
    np.testing.assert_allclose(world_to_ndc(np.array([[0.0, 0.0, -1.0]]), NDC_CAMERA)[0, 2], -1.0)
    assert np.isnan(ndc_to_world(np.array([[0.0, 0.0, 1.0]]), NDC_CAMERA)).all()


def test_ndc_round_trips():
    rng = np.random.default_rng(0)
    world = np.stack([rng.uniform(-5, 5, 100), rng.uniform(-5, 5, 100), -rng.uniform(1.01, 50, 100)], -1)
    np.testing.assert_allclose(ndc_to_world(world_to_ndc(world, NDC_CAMERA, 1.0), NDC_CAMERA, 1.0), world,
                               rtol=1e-9, atol=1e-9)
    ndc = np.stack([rng.uniform(-1, 1, 100), rng.uniform(-1, 1, 100), rng.uniform(-1, 0.99, 100)], -1)
    np.testing.assert_allclose(world_to_ndc(ndc_to_world(ndc, NDC_CAMERA, 2.0), NDC_CAMERA, 2.0), ndc, rtol=1e-9,
                               atol=1e-9)


def test_depth_along_an_ndc_ray_comes_back_onto_the_world_ray():
    c2w = np.eye(4)[:3].copy()
    c2w[:, 3] = (0.1, -0.2, 0.3)
    origins, directions = pixel_rays(c2w, NDC_CAMERA, np.array([1, 6, 4]), np.array([0, 5, 3]))
    ndc_origins, ndc_directions = ndc_rays(origins, directions, NDC_CAMERA, 1.0)
    for t in (0.0, 0.25, 0.5, 0.9):
        points = points_from_depth(ndc_origins, ndc_directions, np.full(3, t), ndc=NDC_CAMERA, near_plane=1.0)
        # the ray's NDC t = 0 is its point on the near plane z = −1; NDC t maps to world z = −1 / (1 − t)
        np.testing.assert_allclose(points[:, 2], -1.0 / (1.0 - t), rtol=1e-5)
        offset = points - origins
        np.testing.assert_allclose(np.cross(offset, directions), 0.0, atol=1e-4)
        assert np.all(np.einsum("ri,ri->r", offset, directions) > 0)


# --------------------------------------------------------------------------------------------------------- mesh


def sphere_field(centre=(0.0, 0.0, 0.0), radius: float = 1.0, slope: float = 10.0):
    """σ = slope · (radius − ‖x − centre‖), at least 0, and a record of how many points each call got."""
    calls: list[int] = []

    def query(points: np.ndarray) -> np.ndarray:
        calls.append(len(points))
        return np.maximum(slope * (radius - np.linalg.norm(points - np.asarray(centre), axis=-1)), 0.0)

    return query, calls


def test_a_sphere_through_the_density_grid_and_marching_cubes():
    query, calls = sphere_field()
    lo, hi = np.full(3, -1.0), np.full(3, 1.0)
    seen = []
    grid = density_grid(query, lo, hi, 33, chunk_points=1000, progress=seen.append)
    assert grid.shape == (33, 33, 33) and grid.dtype == np.float32
    assert max(calls) <= 1000 and sum(seen) == 33 ** 3  # bounded chunks, every point once
    assert grid[16, 16, 16] == pytest.approx(10.0) and grid[0, 0, 0] == 0.0  # the centre; a corner
    np.testing.assert_array_equal(grid, density_grid(query, lo, hi, 33, chunk_points=10 ** 6))
    # σ = 5.3 at ‖x‖ = 1 − 5.3/10 = 0.47 (a level that no grid point holds exactly: no degenerate faces)
    vertices, faces = mesh_from_grid(grid, lo, hi, level=5.3)
    radii = np.linalg.norm(vertices, axis=1)
    assert len(faces) > 100 and np.abs(radii - 0.47).max() < 0.01
    assert outward_share(vertices, faces, np.zeros(3)) == 1.0  # normals point out of the dense side


def test_a_level_outside_the_grid_is_one_line():
    query, _ = sphere_field()
    grid = density_grid(query, np.full(3, -1.0), np.full(3, 1.0), 9, chunk_points=100)
    with pytest.raises(InputError, match=r"--level 50: no surface.*\[0, 10\]") as error:
        mesh_from_grid(grid, np.full(3, -1.0), np.full(3, 1.0), level=50.0)
    assert "\n" not in str(error.value)


def test_an_ndc_mesh_keeps_its_normals_outward_in_the_world():
    centre = np.array([0.1, -0.1, 0.2])
    query, _ = sphere_field(centre, radius=0.3)
    lo, hi = centre - 0.4, centre + 0.4
    vertices, faces = mesh_from_grid(density_grid(query, lo, hi, 24, chunk_points=4096), lo, hi, level=1.3)
    assert outward_share(vertices, faces, centre) == 1.0
    world, world_faces = mesh_to_world(vertices, faces, NDC_CAMERA, 1.0)
    assert np.all(np.isfinite(world)) and np.all(world[:, 2] < -1.0)  # beyond the near plane
    # the image of a ball under the projective map is convex: outward means away from its centroid
    assert outward_share(world, world_faces, world.mean(axis=0)) == 1.0
    assert outward_share(world, faces, world.mean(axis=0)) == 0.0  # without reversing the winding: inward


def test_view_directions_of_the_vertex_colours():
    np.testing.assert_allclose(inward_view_dirs(np.array([[3.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), np.array([1.0, 0.0, 0.0])),
                               [[-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])  # a vertex at the centre: −z
    np.testing.assert_allclose(outward_view_dirs(np.array([[0.0, 3.0, -4.0]]), np.zeros(3)), [[0.0, 0.6, -0.8]])


def test_the_default_box_of_cameras_on_a_sphere():
    cameras = [look_at((4 * np.cos(a) * np.cos(e), 4 * np.sin(a) * np.cos(e), 4 * np.sin(e)))[:3]
               for a, e in zip(np.linspace(0, 2 * np.pi, 8, endpoint=False), [0.3, 0.6] * 4)]
    lo, hi = scene_box(np.stack(cameras), near=2.0, far=6.0)  # the ball of radius 4 − 2 around the centre
    np.testing.assert_allclose(lo, [-2.0] * 3, atol=1e-6)
    np.testing.assert_allclose(hi, [2.0] * 3, atol=1e-6)


def test_radiance_field_of_models():
    field = SimpleNamespace(interval_encoding=False)
    assert radiance_field_of(SimpleNamespace(radiance_field=field), "RUN") is field
    with pytest.raises(InputError, match="RUN: model SimpleNamespace has no radiance field"):
        radiance_field_of(SimpleNamespace(), "RUN")


# -------------------------------------------------------------------------------------------------------- files


def test_depth_png_scale_and_no_depth():
    distance = np.array([[0.0, 1.0], [2.0, 4.0]])
    valid = np.array([[False, True], [True, True]])
    values, scale = depth_png(distance, valid)
    assert values.dtype == np.uint16 and values[1, 1] == 65535 and values[0, 0] == 0
    assert scale == pytest.approx(4.0 / 65535)
    np.testing.assert_allclose(values[valid] * scale, distance[valid], atol=scale / 2)
    assert depth_png(np.array([[1e-9, 1.0]]), np.array([[True, True]]))[0][0, 0] == 1  # valid is never 0
    assert depth_png(np.zeros((2, 2)), np.zeros((2, 2), bool))[0].max() == 0


def test_png16_is_sixteen_bit(tmp_path):
    values = np.array([[0, 300], [40000, 65535]], np.uint16)
    path = tmp_path / "d.png"
    path.write_bytes(png16_bytes(values))
    image = Image.open(path)
    assert image.mode in ("I;16", "I") and np.array_equal(np.array(image), values)


def test_ply_round_trip(tmp_path):
    from plyfile import PlyData

    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [7, 8, 9]], np.uint8)
    faces = np.array([[0, 2, 1], [0, 1, 3]], np.int32)
    write_ply(tmp_path / "mesh.ply", vertices, colours, faces)
    ply = PlyData.read(str(tmp_path / "mesh.ply"))
    assert not ply.text and ply.byte_order == "<"
    vertex = ply["vertex"].data
    np.testing.assert_array_equal(np.stack([vertex["x"], vertex["y"], vertex["z"]], -1), vertices)
    np.testing.assert_array_equal(np.stack([vertex["red"], vertex["green"], vertex["blue"]], -1), colours)
    np.testing.assert_array_equal(np.stack(ply["face"].data["vertex_indices"]), faces)
    write_ply(tmp_path / "points.ply", vertices, colours)
    assert [e.name for e in PlyData.read(str(tmp_path / "points.ply")).elements] == ["vertex"]


# ------------------------------------------------------------------------------------------------- bad options


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d,e,f", "0,0,0,1,1,nan", "1,0,0,0,1,1", "0,0,0,1,1,1,1"])
def test_malformed_bounds(text):
    with pytest.raises(InputError, match=r"--bounds") as error:
        parse_bounds(text)
    assert "\n" not in str(error.value)


def test_bounds_and_resolution_that_work():
    lo, hi = parse_bounds("-1,-2,-3,1,2,3.5")
    np.testing.assert_array_equal(lo, [-1, -2, -3])
    np.testing.assert_array_equal(hi, [1, 2, 3.5])
    assert check_resolution(2) == 2 and check_resolution(MAX_RESOLUTION) == MAX_RESOLUTION
    for bad in (1, 0, MAX_RESOLUTION + 1):
        with pytest.raises(InputError, match=f"--resolution {bad}: expected 2 to {MAX_RESOLUTION}"):
            check_resolution(bad)


def test_bad_options_are_one_line(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    cases = [
        (ExportOptions(format="obj", out=tmp_path / "x"), "--format 'obj': expected depth, pointcloud or mesh"),
        (ExportOptions(format="depth", out=a_file), "exists and is a file; --format depth writes a folder"),
        (ExportOptions(format="mesh", out=tmp_path), "is a folder; --format mesh writes one .ply file"),
        (ExportOptions(format="pointcloud", out=tmp_path / "p.ply", min_opacity=1.0), "--min-opacity 1"),
        (ExportOptions(format="depth", out=tmp_path / "d", skip=0), "--skip must be >= 1"),
        (ExportOptions(format="mesh", out=tmp_path / "m.ply", resolution=10 ** 4), "--resolution 10000"),
    ]
    for options, message in cases:
        with pytest.raises(InputError, match=re.escape(message)) as error:
            check_options(options)
        assert "\n" not in str(error.value)
