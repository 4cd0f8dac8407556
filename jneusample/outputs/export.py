"""Geometry out of a trained run: depth maps, a coloured point cloud, a mesh (``jneusample export``).

Three exports, one per ``--format``:

* ``depth``: for every view of a split, two depth maps of the rendered surface, each as float32 ``.npy`` in scene
  units and as a 16-bit PNG whose scale ``depth.json`` gives, plus the opacity that decided where there is one:

  - **ray distance**: how far the surface is from the camera centre along the pixel's ray, the expected
    Σ_{i<N} w_i·z_i·‖d‖ / Σ_{i<N} w_i (z along the un-normalised direction d, :mod:`jneusample.rendering`; the
    last sample left out: below);
  - **z-depth**: the same point's depth along the camera's optical axis (−z of the camera), what a depth
    sensor or a z-buffer holds. For a pinhole camera ray distance = z-depth · ‖d_cam‖,
    d_cam = ((i − cx)/fx, −(j − cy)/fy, −1) (:func:`z_depth_from_ray_distance`).

* ``pointcloud``: one world-space point per pixel of the training views whose opacity is above ``min_opacity``,
  coloured by the render, as a binary PLY.
* ``mesh``: marching cubes on a grid of densities over a box of the scene, vertices coloured by the radiance
  field, as a binary PLY.

**Which weights count as the surface.** Compositing gives the last sample an interval of ``render.last_interval``
(2e10) past it, so its weight stands for everything behind the samples: the background. With a softplus
density (σ > 0 everywhere: the cpu and quick presets) that weight is large on many background rays, and the
plain accumulated opacity Σ w calls part of a Blender scene's white background a surface at the far bound. The
**opacity** used here is therefore that of the samples before the last, Σ_{i<N} w_i, and the depth is their
expected distance (:func:`surface_from_render`). On the test views of the pretrained demo and lego x8 (N = 32)
runs, the mask opacity > 0.5 matches the ground-truth alpha > 0.5 with an IoU of 0.98 and 0.83 this way, 0.73
and 0.73 with Σ w; foreground rays whose last sample holds most of the weight were 0.1 % of the pixels. For
LLFF the last sample's share is the sky at NDC's far end (infinity).

**World and NDC.** Blender and transforms.json scenes render in world space. LLFF runs render in normalised
device coordinates (:func:`jneusample.data.rays.ndc_rays`); depths and points are mapped back to the scene's
world frame with :func:`ndc_to_world`, the exact inverse of NDC's projective map. That world frame is the one
the run's loader made: for LLFF the rescaled (nearest bound at 1/0.75) and recentred frame of
:mod:`jneusample.data.llff`, not COLMAP's.

Units: distances in scene units (world units after the loader's rescale); densities σ in inverse scene units
(per NDC unit for LLFF runs, whose rays are measured in NDC): the opacity of a length δ is 1 − exp(−σ·δ).
"""
from __future__ import annotations

import io
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..platform import fileio
from ..data.scene import Intrinsics
from ..errors import InputError

FORMATS = ("depth", "pointcloud", "mesh")
"""What ``--format`` accepts."""
DEFAULT_MIN_OPACITY = 0.5
"""Pixels whose opacity (Σ_{i<N} w_i) is at or below this have no depth and give no point."""
DEFAULT_RESOLUTION = 128
"""Grid points per axis of the mesh's density grid."""
MAX_RESOLUTION = 512
"""Largest ``--resolution``: the density grid is R³ float32 (512 MiB at 512) and marching cubes needs a few
times that again; larger grids would not fit the memory of the machines this runs on."""
DEFAULT_LEVEL = 10.0
"""Density threshold of the mesh, σ per scene unit: a layer ln 2 / 10 ≈ 0.07 units thick is half opaque (about
2 % of a Blender object's size). NeRF's own mesh notebook used 50 for its lego; the densities of this project's
pretrained demo and lego x8 runs (softplus, cpu and quick presets) peak at 45 and 86, and at 10 the lego mesh
spans the object's extent."""
NDC_FAR_Z = 0.95
"""Far face of the default mesh box of NDC (LLFF) runs, in NDC z: depth 2n/(1 − z) = 40 near planes (the NDC
far end, z = 1, is at infinity)."""
PNG_MAX = 65535
"""Largest value of a 16-bit PNG."""


# --------------------------------------------------------------------------------------------------------------
# Pure geometry
# --------------------------------------------------------------------------------------------------------------


def camera_ray_norms(intrinsics: Intrinsics) -> np.ndarray:
    """(H, W) float64 ‖d_cam‖ of each pixel's ray direction d_cam = ((i − cx)/fx, −(j − cy)/fy, −1): the ray
    distance of a point at z-depth 1 (≥ 1, 1 on the optical axis)."""
    rows, cols = np.meshgrid(np.arange(intrinsics.height), np.arange(intrinsics.width), indexing="ij")
    x = (cols - intrinsics.cx) / intrinsics.fx
    y = (rows - intrinsics.cy) / intrinsics.fy
    return np.sqrt(x * x + y * y + 1.0)


def z_depth_from_ray_distance(ray_distance: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """(H, W) z-depth along the optical axis of points at (H, W) distances from a pinhole camera's centre along
    each pixel's ray: ray_distance / ‖d_cam‖ (:func:`camera_ray_norms`). Same units as ``ray_distance``."""
    return (np.asarray(ray_distance, np.float64) / camera_ray_norms(intrinsics)).astype(np.float32)


def world_to_ndc(points: np.ndarray, intrinsics: Intrinsics, near_plane: float = 1.0) -> np.ndarray:
    """(P, 3) world points in front of the NDC camera (z < 0) → NDC, the map :func:`jneusample.data.rays.ndc_rays`
    applies to ray origins: (−(2fx/W)·x/z, −(2fy/H)·y/z, 1 + 2n/z), n = ``near_plane``."""
    p = np.asarray(points, np.float64)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    sx, sy = 2.0 * intrinsics.fx / intrinsics.width, 2.0 * intrinsics.fy / intrinsics.height
    return np.stack([-sx * x / z, -sy * y / z, 1.0 + 2.0 * near_plane / z], -1)


def ndc_to_world(points: np.ndarray, intrinsics: Intrinsics, near_plane: float = 1.0) -> np.ndarray:
    """(P, 3) NDC points → world points, the inverse of :func:`world_to_ndc`.

    From q_z = 1 + 2n/z: z = 2n/(q_z − 1); from q_x = −(2fx/W)·x/z: x = −q_x·z·W/(2fx) (y likewise). NDC z runs
    from −1 (the near plane, world z = −n) to 1 (world z = −∞); points at q_z ≥ 1 come back as NaN.
    """
    q = np.asarray(points, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(q[..., 2] < 1.0, 2.0 * near_plane / (q[..., 2] - 1.0), np.nan)
    x = -q[..., 0] * z * intrinsics.width / (2.0 * intrinsics.fx)
    y = -q[..., 1] * z * intrinsics.height / (2.0 * intrinsics.fy)
    return np.stack([x, y, z], -1)


def points_from_depth(origins: np.ndarray, directions: np.ndarray, z: np.ndarray,
                      ndc: Intrinsics | None = None, near_plane: float = 1.0) -> np.ndarray:
    """(R, 3) world points at distances z (R,) along rays o + z·d (the un-normalised d of the renderer).

    ``ndc``: the intrinsics of an NDC run, whose rays (and z ∈ [0, 1]) are in NDC: the NDC point o + z·d is then
    mapped back with :func:`ndc_to_world` (``near_plane``: the scene's ``ndc_near_plane``).
    """
    points = np.asarray(origins, np.float64) + np.asarray(directions, np.float64) * np.asarray(z, np.float64)[:, None]
    return ndc_to_world(points, ndc, near_plane) if ndc is not None else points


def camera_depths(points: np.ndarray, c2w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ray distance, z-depth) of (..., 3) world points seen by the camera ``c2w`` (3, 4), each (...,).

    Ray distance ‖p − c‖ from the camera centre c; z-depth (p − c)·f along the optical axis f = −c2w[:, 2]
    (OpenGL cameras look down their −z axis).
    """
    c2w = np.asarray(c2w, np.float64)
    offset = np.asarray(points, np.float64) - c2w[:3, 3]
    forward = -c2w[:3, 2] / np.linalg.norm(c2w[:3, 2])
    return np.linalg.norm(offset, axis=-1), offset @ forward


def surface_from_render(depth: np.ndarray, acc: np.ndarray, last_weight: np.ndarray,
                        last_z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(opacity, z) of the surface a ray sees, from its render, all (R,) arrays.

    opacity = Σ_{i<N} w_i = acc − w_N, the samples before the last (whose interval reaches past the scene: the
    module docstring); z = Σ_{i<N} w_i·z_i / opacity, their expected distance along the un-normalised direction
    (0 where the opacity is 0). ``depth``, ``acc``: the renderer's Σ w·z and Σ w; ``last_weight``, ``last_z``:
    w_N and z_N.
    """
    opacity = np.clip(np.asarray(acc, np.float64) - last_weight, 0.0, None)
    weighted = np.asarray(depth, np.float64) - np.asarray(last_weight, np.float64) * last_z
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(opacity > 1e-12, weighted / opacity, 0.0)
    return opacity, z


def surface_colour(color: np.ndarray, acc: np.ndarray, white_background: bool) -> np.ndarray:
    """(R, 3) colour of what the rays hit, in [0, 1]: Σ_i w_i·c_i / Σ_i w_i from the render ``color`` (R, 3) and
    its accumulated opacity ``acc`` (R,).

    The render is C = Σ_i w_i·c_i (+ 1 − acc on white): on white the background's share 1 − acc is taken out
    first. The last sample's colour cannot be told apart from the render, so its share stays in (at most
    1 − ``min_opacity`` of a kept pixel).
    """
    colour = np.asarray(color, np.float64)
    acc = np.asarray(acc, np.float64)
    if white_background:
        colour = colour - (1.0 - acc)[:, None]
    return np.clip(colour / np.maximum(acc, 1e-6)[:, None], 0.0, 1.0)


def depth_png(distance: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, float]:
    """A depth map as 16-bit values and their scale: (uint16 (H, W), scale) with distance ≈ value · scale.

    The largest valid distance maps to 65535; every valid pixel is at least 1, so that 0 means "no depth"
    (``valid`` False: no surface, or not finite). ``distance`` (H, W) ≥ 0 in scene units; scale in scene units
    per PNG step (1 / 65535 when nothing is valid).
    """
    valid = np.asarray(valid, bool) & np.isfinite(distance)
    top = float(np.max(distance[valid])) if valid.any() else 0.0
    scale = top / PNG_MAX if top > 0 else 1.0 / PNG_MAX
    values = np.zeros(distance.shape, np.uint16)
    values[valid] = np.clip(np.rint(distance[valid] / scale), 1, PNG_MAX).astype(np.uint16)
    return values, scale


def png16_bytes(values: np.ndarray) -> bytes:
    """PNG file content of an (H, W) uint16 array: a 16-bit greyscale PNG."""
    # deferred: the command checks its options with this module before Jittor starts
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(values, np.uint16)).save(buffer, format="PNG")
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    """``.npy`` file content of ``array``."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def scene_box(c2w: np.ndarray, near: float, far: float) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) (3,) corners of the cube the cameras and the near/far bounds imply (world-space scenes).

    Centre: the point the optical axes converge to (:func:`jneusample.data.transforms.estimate_centre`), else
    the cameras' mean centre moved (near + far)/2 along their mean axis. Half side: the distance from the
    centre to the nearest camera minus ``near`` (the ball every camera sees beyond its near bound), or
    (far − near)/2 when that is not positive. Cameras on a sphere of radius 4 with near 2 (Blender): [−2, 2]³.
    """
    # deferred: the command checks its options with this module before Jittor starts
    from ..data.transforms import estimate_centre

    c2w = np.asarray(c2w, np.float64)
    cameras = c2w[:, :3, 3]
    centre, _ = estimate_centre(c2w)
    if centre is None:
        forward = -c2w[:, :3, 2].mean(axis=0)
        forward /= max(float(np.linalg.norm(forward)), 1e-12)
        centre = cameras.mean(axis=0) + forward * 0.5 * (near + far)
    half = float(np.linalg.norm(cameras - centre, axis=1).min()) - near
    if half <= 0:
        half = 0.5 * (far - near)
    return centre - half, centre + half


def ndc_box() -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) of the default mesh box of NDC runs, in NDC: the whole view, from the near plane to
    :data:`NDC_FAR_Z`."""
    return np.array([-1.0, -1.0, -1.0]), np.array([1.0, 1.0, NDC_FAR_Z])


def grid_axes(lo: np.ndarray, hi: np.ndarray, resolution: int) -> list[np.ndarray]:
    """The R coordinates of the grid along x, y and z: R points from lo to hi inclusive on each axis."""
    return [np.linspace(float(lo[a]), float(hi[a]), resolution) for a in range(3)]


def density_grid(query: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray, resolution: int,
                 chunk_points: int, progress: Callable[[int], Any] | None = None) -> np.ndarray:
    """(R, R, R) float32 densities at the grid points, indexed [ix, iy, iz] (:func:`grid_axes`).

    ``query`` maps (P, 3) float32 points to (P,) densities and is called with at most ``chunk_points`` points at
    a time; the coordinates of one chunk are made from flat grid indices, so nothing but the (R³,) result is
    ever held for the whole grid. ``progress(n)`` is told after each chunk how many points it held.
    """
    axes = grid_axes(lo, hi, resolution)
    total = resolution ** 3
    chunk_points = max(1, int(chunk_points))
    values = np.empty(total, np.float32)
    for start in range(0, total, chunk_points):
        index = np.arange(start, min(start + chunk_points, total))
        ix, iy, iz = np.unravel_index(index, (resolution,) * 3)
        points = np.stack([axes[0][ix], axes[1][iy], axes[2][iz]], -1).astype(np.float32)
        values[start:start + len(index)] = np.asarray(query(points), np.float32).reshape(-1)
        if progress is not None:
            progress(len(index))
    return values.reshape((resolution,) * 3)


def mesh_from_grid(grid: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: float,
                   unit: str = "σ per scene unit") -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes (``skimage.measure.marching_cubes``) of the level set ``grid == level``.

    Args:
        grid: (R, R, R) densities at :func:`grid_axes` of ``lo``/``hi``.
        level: the threshold, in the grid's units, which ``unit`` names in the error.
    Returns:
        vertices (V, 3) float32 in the box's coordinates and faces (F, 3) int32, wound so that their normals
        by the right-hand rule point out of the dense side (towards lower density).
    Raises:
        InputError (one line) when no surface crosses ``level``, naming the grid's range.
    """
    # deferred: the command checks its options with this module before Jittor starts
    from skimage import measure

    grid = np.asarray(grid, np.float32)
    if not np.all(np.isfinite(grid)):
        raise InputError("the density grid has non-finite values (NaN or infinity): the run's weights are broken")
    low, high = float(grid.min()), float(grid.max())
    if not low < level < high:
        raise InputError(f"--level {level:g}: no surface, the densities on the grid range over [{low:.4g}, "
                         f"{high:.4g}] ({unit}); choose a level inside that range")
    resolution = np.array(grid.shape, np.float64)
    spacing = (np.asarray(hi, np.float64) - np.asarray(lo, np.float64)) / (resolution - 1)
    # 'descent': the object is where values are greater than the level (dense inside); skimage then winds the
    # faces by the left-hand rule, and PLY readers take the right-hand rule (counter-clockwise seen from
    # outside), hence the reversed winding
    vertices, faces, _, _ = measure.marching_cubes(grid, level=level, spacing=tuple(spacing),
                                                   gradient_direction="descent")
    vertices = vertices + np.asarray(lo, np.float64)
    return vertices.astype(np.float32), np.ascontiguousarray(faces[:, ::-1], dtype=np.int32)


def mesh_to_world(vertices: np.ndarray, faces: np.ndarray, intrinsics: Intrinsics,
                  near_plane: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """An NDC mesh in world space: vertices through :func:`ndc_to_world`, faces with their winding reversed.

    The NDC → world map reverses orientation (its Jacobian is triangular with diagonal −z·W/(2fx) > 0,
    −z·H/(2fy) > 0 and −2n/(q_z − 1)² < 0, so its determinant is negative); reversing each face's winding
    keeps the normals pointing out of the dense side.
    """
    world = ndc_to_world(vertices, intrinsics, near_plane).astype(np.float32)
    return world, np.ascontiguousarray(np.asarray(faces)[:, ::-1])


def _unit_rows(offset: np.ndarray) -> np.ndarray:
    """(V, 3) float32 rows of ``offset`` scaled to unit length; a zero row becomes −z."""
    offset = np.asarray(offset, np.float64)
    norm = np.linalg.norm(offset, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 1e-12, offset / norm, np.array([0.0, 0.0, -1.0])).astype(np.float32)


def inward_view_dirs(vertices: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """(V, 3) unit view directions of a viewer outside the box looking at each vertex (V, 3) towards the box's
    ``centre`` (3,): (centre − v)/‖centre − v‖, the line from the centre through the vertex, travelled from
    beyond the vertex inwards. A vertex at the centre gets −z."""
    return _unit_rows(np.asarray(centre, np.float64) - np.asarray(vertices, np.float64))


def outward_view_dirs(vertices: np.ndarray, eye: np.ndarray) -> np.ndarray:
    """(V, 3) unit directions from ``eye`` (3,) to each vertex (V, 3), as a camera at ``eye`` sees them (NDC runs:
    the average camera, the recentred frame's origin). A vertex at the eye gets −z."""
    return _unit_rows(np.asarray(vertices, np.float64) - np.asarray(eye, np.float64))


def parse_bounds(text: str) -> tuple[np.ndarray, np.ndarray]:
    """``--bounds xmin,ymin,zmin,xmax,ymax,zmax`` → (lo, hi) (3,) float64; a one-line InputError otherwise."""
    expected = "expected six numbers xmin,ymin,zmin,xmax,ymax,zmax"
    try:
        numbers = [float(part) for part in str(text).split(",")]
    except ValueError:
        raise InputError(f"--bounds {text!r}: {expected}") from None
    if len(numbers) != 6 or not all(math.isfinite(v) for v in numbers):
        raise InputError(f"--bounds {text!r}: {expected} (finite)")
    lo, hi = np.array(numbers[:3]), np.array(numbers[3:])
    if not np.all(lo < hi):
        raise InputError(f"--bounds {text!r}: each minimum must be below its maximum")
    return lo, hi


def check_resolution(resolution: int) -> int:
    """``--resolution`` if it is in [2, :data:`MAX_RESOLUTION`]; a one-line InputError otherwise."""
    if not 2 <= int(resolution) <= MAX_RESOLUTION:
        raise InputError(f"--resolution {resolution}: expected 2 to {MAX_RESOLUTION} grid points per axis (the "
                         f"density grid is R³ float32: {MAX_RESOLUTION ** 3 * 4 >> 20} MiB at {MAX_RESOLUTION})")
    return int(resolution)


def ply_bytes(vertices: np.ndarray, colours: np.ndarray, faces: np.ndarray | None = None) -> bytes:
    """A binary little-endian PLY: vertices x, y, z (float32) with red, green, blue (uint8), and faces
    (``vertex_indices``, lists of three int32) when ``faces`` (F, 3) is given. ``vertices`` (V, 3),
    ``colours`` (V, 3) uint8."""
    try:
        # deferred: the command checks its options with this module before Jittor starts
        from plyfile import PlyData, PlyElement
    except ImportError:
        raise InputError("the plyfile package is missing: pip install plyfile (or pip install -e .)") from None
    vertex = np.empty(len(vertices), dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"),
                                            ("red", "u1"), ("green", "u1"), ("blue", "u1")])
    for axis, name in enumerate("xyz"):
        vertex[name] = np.asarray(vertices)[:, axis]
    for channel, name in enumerate(("red", "green", "blue")):
        vertex[name] = np.asarray(colours)[:, channel]
    elements = [PlyElement.describe(vertex, "vertex")]
    if faces is not None:
        face = np.empty(len(faces), dtype=[("vertex_indices", "<i4", (3,))])
        face["vertex_indices"] = faces
        elements.append(PlyElement.describe(face, "face", len_types={"vertex_indices": "u1"}))
    buffer = io.BytesIO()
    PlyData(elements, text=False, byte_order="<").write(buffer)
    return buffer.getvalue()


def write_ply(path: str | Path, vertices: np.ndarray, colours: np.ndarray, faces: np.ndarray | None = None) -> None:
    """Write :func:`ply_bytes` to ``path`` atomically (``disk full: PATH`` on a full disk)."""
    fileio.atomic_write_bytes(path, ply_bytes(vertices, colours, faces))


# --------------------------------------------------------------------------------------------------------------
# The run's model
# --------------------------------------------------------------------------------------------------------------


def radiance_field_of(model, run_dir: Path):
    """The radiance field whose density and colour a mesh takes: the model's (NeRF's fine field, or its only one
    without importance samples). A one-line InputError for a model without one that can be queried at points."""
    field = getattr(model, "radiance_field", None)
    if field is not None and hasattr(field, "interval_encoding"):
        return field
    raise InputError(f"{run_dir}: model {type(model).__name__} has no radiance field to query at points; "
                     "--format mesh needs one (depth and pointcloud work on any model)")


def density_query(field, activation: str, variance: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """(P, 3) float32 points (the model's space) → (P,) σ ≥ 0 of ``field`` (``activation``: the run's
    ``model.density_activation``).

    The points go in as one ray of P points (the view direction does not change the density). A field trained
    with the interval encoding sees each point spread over one grid cell (``variance`` (3,): cell²/12 per axis),
    as a sample standing for that length of its ray.
    """
    # deferred: the command checks its options with this module before Jittor starts
    from ..platform.backend import jt
    from ..rendering import activate_density

    def query(points: np.ndarray) -> np.ndarray:
        count = len(points)
        with jt.no_grad():
            variances = None
            if field.interval_encoding:
                variances = jt.array(np.broadcast_to(variance, (1, count, 3)).astype(np.float32))
            raw, _ = field(jt.array(points.reshape(1, count, 3)), jt.array(np.array([[0.0, 0.0, -1.0]], np.float32)),
                           variances)
            return activate_density(raw, activation).reshape([count]).numpy()

    return query


def colour_query(field, points: np.ndarray, view_dirs: np.ndarray, variance: np.ndarray, chunk_points: int,
                 progress: Callable[[int], Any] | None = None) -> np.ndarray:
    """(V, 3) uint8 colours of ``field`` at (V, 3) points seen along (V, 3) unit world-space view directions,
    in chunks of at most ``chunk_points`` points (``variance``: as :func:`density_query`)."""
    # deferred: the command checks its options with this module before Jittor starts
    from ..platform.backend import jt
    from .visuals import to_uint8

    colours = np.empty((len(points), 3), np.uint8)
    for start in range(0, len(points), max(1, chunk_points)):
        stop = min(start + max(1, chunk_points), len(points))
        count = stop - start
        with jt.no_grad():
            variances = None
            if field.interval_encoding:
                variances = jt.array(np.broadcast_to(variance, (count, 1, 3)).astype(np.float32))
            _, colour = field(jt.array(points[start:stop].reshape(count, 1, 3).astype(np.float32)),
                              jt.array(view_dirs[start:stop].astype(np.float32)), variances)
            colours[start:stop] = to_uint8(colour.reshape([count, 3]).numpy())
        if progress is not None:
            progress(count)
    return colours


def render_view(model, scene, c2w: np.ndarray, settings, chunk_points: int) -> dict[str, np.ndarray]:
    """Render one camera: ``color`` (R, 3), ``depth`` and ``acc`` (R,), the last sample's weight and distance
    ``last_weight``, ``last_z`` (R,), and the rays ``origins``, ``directions`` (R, 3), R = H·W in row-major
    order (the model's space: NDC for LLFF).

    Rays go to :func:`~jneusample.rendering.render_rays` in blocks of 16 render chunks, so the per-sample
    weights and distances it returns stay bounded by the chunk size, whatever the image size.
    """
    # deferred: the command checks its options with this module before Jittor starts
    from ..platform import backend
    from ..data.rays import scene_rays
    from ..rendering import chunk_rays_of, render_rays

    origins, directions, view_dirs = scene_rays(scene, c2w)
    chunk_points = backend.render_chunk_points(chunk_points)
    block = 16 * chunk_rays_of(model, chunk_points)
    parts: dict[str, list[np.ndarray]] = {key: [] for key in ("color", "depth", "acc", "last_weight", "last_z")}
    for start in range(0, len(origins), block):
        rays = slice(start, start + block)
        out = render_rays(model, origins[rays], directions[rays], view_dirs[rays], settings, chunk_points,
                          keep=("color", "depth", "acc", "weights", "z"))
        for key in ("color", "depth", "acc"):
            parts[key].append(out[key])
        parts["last_weight"].append(out["weights"][:, -1])
        parts["last_z"].append(out["z"][:, -1])
    result = {key: np.concatenate(value, axis=0) for key, value in parts.items()}
    result.update(origins=origins, directions=directions)
    return result


# --------------------------------------------------------------------------------------------------------------
# The three exports
# --------------------------------------------------------------------------------------------------------------


@dataclass
class ExportOptions:
    """What ``jneusample export`` was asked for (checked by :func:`check_options` before the run is loaded)."""

    format: str
    """'depth', 'pointcloud' or 'mesh'."""
    out: Path
    """depth: a folder (written completely or not at all); pointcloud, mesh: a .ply file."""
    split: str | None = None
    """Views to export (depth: default test) or to build the point cloud from (default train)."""
    skip: int = 1
    """Every k-th view of the split."""
    factor: int | None = None
    """Downscale factor (default: the run's)."""
    data: str | None = None
    """Scene folder (default: the one the run was trained on)."""
    samples: int | None = None
    """Render with this many samples per ray (any-N runs); None: the run's N."""
    min_opacity: float = DEFAULT_MIN_OPACITY
    """Pixels with opacity at or below this have no depth and give no point."""
    resolution: int = DEFAULT_RESOLUTION
    """Mesh: grid points per axis."""
    bounds: tuple[np.ndarray, np.ndarray] | None = None
    """Mesh: (lo, hi) of the grid's box (world; NDC for LLFF runs); None: :func:`scene_box` / :func:`ndc_box`."""
    level: float = DEFAULT_LEVEL
    """Mesh: density threshold, σ per scene unit (per NDC unit for LLFF runs)."""


def check_format(text: str) -> str:
    """``--format`` in :data:`FORMATS`, or a one-line InputError."""
    if text not in FORMATS:
        raise InputError(f"--format {text!r}: expected {', '.join(FORMATS[:-1])} or {FORMATS[-1]}")
    return text


def check_options(options: ExportOptions) -> None:
    """One-line InputErrors for options that cannot work, before anything is loaded or rendered."""
    check_format(options.format)
    if options.skip < 1:
        raise InputError(f"--skip must be >= 1, got {options.skip}")
    if not 0.0 <= options.min_opacity < 1.0:
        raise InputError(f"--min-opacity {options.min_opacity:g}: expected a number in [0, 1)")
    if options.format == "mesh":
        check_resolution(options.resolution)
        if not math.isfinite(options.level):
            raise InputError(f"--level {options.level!r}: expected a finite density (σ per scene unit)")
    out = Path(options.out)
    if options.format == "depth":
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: exists and is a file; --format depth writes a folder there")
        fileio.check_writable_dir(out)
    else:
        if out.is_dir():
            raise InputError(f"{out}: is a folder; --format {options.format} writes one .ply file")
        fileio.check_writable_dir(out.parent)


def _progress_bar(total: int, desc: str, unit: str, enabled: bool):
    """A tqdm bar on stderr as eval's (refreshed rarely when stderr is not a terminal), or None."""
    if not enabled:
        return None
    # deferred: the command checks its options with this module before Jittor starts
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit != "img", dynamic_ncols=True,
                mininterval=0.5 if sys.stderr.isatty() else 30.0)


def _view_name(views, index: int) -> str:
    return (views.names[index] if views.names else str(index)).replace("/", "_")


def _surface(rendered: dict[str, np.ndarray], scene) -> tuple[np.ndarray, np.ndarray]:
    """(opacity (R,), world points (R, 3)) of one rendered view (:func:`surface_from_render`)."""
    opacity, z = surface_from_render(rendered["depth"], rendered["acc"], rendered["last_weight"],
                                     rendered["last_z"])
    points = points_from_depth(rendered["origins"], rendered["directions"], z,
                               scene.intrinsics if scene.ndc else None, scene.ndc_near_plane)
    return opacity, points


def _write_staged(staging: Path, shown: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (name → bytes) into the staging folder; errors name the folder the user asked for."""
    for name, data in files.items():
        try:
            fileio.atomic_write_bytes(staging / name, data)
        except InputError as exc:
            raise InputError(str(exc).replace(str(staging), str(shown))) from None


def export_depth(run, scene, options: ExportOptions, progress: bool) -> dict[str, Any]:
    """Depth maps of every ``skip``-th view of the split (default test) into the folder ``options.out``.

    Per view NAME: ``NAME_ray_distance.npy|png``, ``NAME_z_depth.npy|png`` (float32 scene units; 16-bit PNG with
    0 = no depth) and ``NAME_opacity.npy``; ``depth.json`` says what each is and each PNG's scale. Pixels with
    opacity ≤ ``min_opacity`` (or at NDC's infinite far end) have depth 0 in both.
    """
    # deferred: the command checks its options with this module before Jittor starts
    from ..rendering import render_settings

    split = options.split or "test"
    views = scene.split(split)
    settings = render_settings(scene, run.config, training=False)
    h, w = scene.intrinsics.height, scene.intrinsics.width
    indices = list(range(0, len(views), options.skip))
    bar = _progress_bar(len(indices), f"depth {split}", "img", progress)
    records = []
    with fileio.staged_folder(options.out) as staging:
        for index in indices:
            rendered = render_view(run.model, scene, views.c2w[index], settings, run.config.render.chunk_points)
            opacity, points = _surface(rendered, scene)
            distance, z_depth = camera_depths(points, views.c2w[index])
            valid = (opacity > options.min_opacity) & np.isfinite(distance) & np.isfinite(z_depth)
            name = _view_name(views, index)
            record: dict[str, Any] = {"index": index, "name": name, "pixels_with_depth": int(valid.sum())}
            files = {f"{name}_opacity.npy": npy_bytes(opacity.reshape(h, w).astype(np.float32))}
            for key, values in (("ray_distance", distance), ("z_depth", z_depth)):
                values = np.where(valid, values, 0.0).reshape(h, w)
                png, scale = depth_png(values, valid.reshape(h, w))
                files[f"{name}_{key}.npy"] = npy_bytes(values.astype(np.float32))
                files[f"{name}_{key}.png"] = png16_bytes(png)
                record[f"{key}_png_scale"] = scale
            _write_staged(staging, Path(options.out), files)
            records.append(record)
            if bar is not None:
                bar.update(1)
        summary = {
            "format": "depth", "run_dir": str(run.run_dir), "checkpoint": str(run.checkpoint_path),
            "step": run.step, "split": split, "skip": options.skip, "width": w, "height": h,
            "scene_format": scene.format, "ndc": bool(scene.ndc), "min_opacity": options.min_opacity,
            "units": "scene units: the run's world frame (LLFF: the loader's rescaled, recentred frame)",
            "files": {
                "NAME_ray_distance.npy": "float32 (H, W): distance from the camera centre to the surface along the "
                                         "pixel's ray, Σ_{i<N} w_i z_i ‖d‖ / Σ_{i<N} w_i (NDC runs: the expected "
                                         "NDC point mapped back to the world); 0 = no depth",
                "NAME_z_depth.npy": "float32 (H, W): the same point's depth along the camera's optical axis "
                                    "(z-buffer depth); 0 = no depth",
                "NAME_opacity.npy": "float32 (H, W): Σ_{i<N} w_i, the opacity of all samples but the last (whose "
                                    "interval reaches past the scene: the background); depth where > min_opacity",
                "NAME_*.png": "16-bit grey: distance = value × the view's *_png_scale below; 0 = no depth",
            },
            "views": records,
        }
        _write_staged(staging, Path(options.out), {"depth.json": (fileio.dumps(summary, indent=2) + "\n").encode()})
    if bar is not None:
        bar.close()
    return {key: value for key, value in summary.items() if key not in ("files", "views")} | {
        "out": str(options.out), "views": len(records)}


def export_pointcloud(run, scene, options: ExportOptions, progress: bool) -> dict[str, Any]:
    """A coloured point cloud (binary PLY at ``options.out``) from every ``skip``-th view of the split (default
    train): one world-space point per pixel with opacity > ``min_opacity``, coloured by the render's surface
    colour (:func:`surface_colour`)."""
    # deferred: the command checks its options with this module before Jittor starts
    from ..rendering import render_settings
    from .visuals import to_uint8

    split = options.split or "train"
    views = scene.split(split)
    settings = render_settings(scene, run.config, training=False)
    indices = list(range(0, len(views), options.skip))
    bar = _progress_bar(len(indices), f"points {split}", "img", progress)
    all_points, all_colours = [], []
    for index in indices:
        rendered = render_view(run.model, scene, views.c2w[index], settings, run.config.render.chunk_points)
        opacity, points = _surface(rendered, scene)
        keep = (opacity > options.min_opacity) & np.all(np.isfinite(points), axis=-1)
        colour = surface_colour(rendered["color"][keep], rendered["acc"][keep], scene.white_background)
        all_points.append(points[keep].astype(np.float32))
        all_colours.append(to_uint8(colour))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    points = np.concatenate(all_points) if all_points else np.zeros((0, 3), np.float32)
    if len(points) == 0:
        raise InputError(f"{run.run_dir}: no pixel of the {split} views has opacity above --min-opacity "
                         f"{options.min_opacity:g}; nothing to write (lower --min-opacity)")
    write_ply(options.out, points, np.concatenate(all_colours))
    return {"format": "pointcloud", "out": str(options.out), "run_dir": str(run.run_dir), "step": run.step,
            "split": split, "skip": options.skip, "views": len(indices), "points": int(len(points)),
            "ndc": bool(scene.ndc), "min_opacity": options.min_opacity}


def export_mesh(run, scene, options: ExportOptions, progress: bool) -> dict[str, Any]:
    """A mesh (binary PLY at ``options.out``): marching cubes at ``options.level`` on an R³ density grid over the
    box (``options.bounds``, else :func:`scene_box` of the training cameras; NDC runs: a box in NDC,
    :func:`ndc_box`, whose mesh is mapped back to the world), vertices coloured by the radiance field.

    Vertex colours: the field's colour at the vertex seen from outside the box, along the line from the box's
    centre through the vertex (:func:`inward_view_dirs`); for NDC runs, as the average camera (the world
    origin) sees it (:func:`outward_view_dirs`). Densities and colours are queried in chunks of the run's
    render chunk (:func:`jneusample.platform.backend.render_chunk_points`), so memory does not grow with the grid's
    MLP activations; the grid itself is R³ float32.
    """
    # deferred: the command checks its options with this module before Jittor starts
    from ..platform import backend

    field = radiance_field_of(run.model, run.run_dir)
    lo, hi = options.bounds if options.bounds is not None else (
        ndc_box() if scene.ndc else scene_box(scene.split("train").c2w, scene.near, scene.far))
    resolution = options.resolution
    cell = (np.asarray(hi) - np.asarray(lo)) / (resolution - 1)
    variance = cell * cell / 12.0  # a uniform spread over one cell
    chunk = backend.render_chunk_points(run.config.render.chunk_points)
    started = time.perf_counter()
    bar = _progress_bar(resolution ** 3, "density grid", "pt", progress)
    grid = density_grid(density_query(field, run.config.model.density_activation, variance), lo, hi, resolution,
                        chunk, bar.update if bar is not None else None)
    if bar is not None:
        bar.close()
    grid_seconds = time.perf_counter() - started
    vertices, faces = mesh_from_grid(grid, lo, hi, options.level,
                                     "σ per NDC unit" if scene.ndc else "σ per scene unit")
    cubes_seconds = time.perf_counter() - started - grid_seconds
    if scene.ndc:
        world, faces = mesh_to_world(vertices, faces, scene.intrinsics, scene.ndc_near_plane)
        view_dirs = outward_view_dirs(world, np.zeros(3))
    else:
        world = vertices
        view_dirs = inward_view_dirs(vertices, 0.5 * (np.asarray(lo) + np.asarray(hi)))
    bar = _progress_bar(len(vertices), "vertex colours", "pt", progress)
    colours = colour_query(field, vertices, view_dirs, variance, chunk, bar.update if bar is not None else None)
    if bar is not None:
        bar.close()
    write_ply(options.out, world, colours, faces)
    return {"format": "mesh", "out": str(options.out), "run_dir": str(run.run_dir), "step": run.step,
            "resolution": resolution, "bounds": [list(map(float, lo)), list(map(float, hi))],
            "bounds_space": "ndc" if scene.ndc else "world", "level": options.level,
            "density_min": float(grid.min()), "density_max": float(grid.max()),
            "vertices": int(len(world)), "faces": int(len(faces)), "grid_seconds": grid_seconds,
            "marching_cubes_seconds": cubes_seconds, "seconds": time.perf_counter() - started}


EXPORTERS = {"depth": export_depth, "pointcloud": export_pointcloud, "mesh": export_mesh}


def export(run_dir: str | Path, options: ExportOptions, checkpoint: str | Path | None = None,
           progress: bool = True) -> dict[str, Any]:
    """Load the run (``checkpoint``: as :func:`jneusample.platform.runs.load_run`) and its scene, write the export
    ``options.format`` asks for, and return a summary (what was written, counts, timings)."""
    # deferred: the command checks its options with this module before Jittor starts
    from ..data import load_scene
    from ..platform.runs import checkpoint_choice, load_run, read_scene_info, scene_folder

    check_options(options)
    checkpoint_choice(checkpoint)  # a bad value is one line before anything is loaded
    run = load_run(run_dir, checkpoint, samples=options.samples)
    if options.format == "mesh":
        radiance_field_of(run.model, run.run_dir)  # refuse before the scene is loaded
    info = read_scene_info(run.run_dir)
    factor = options.factor or info.factor  # read_scene_info checked it
    scene = load_scene(scene_folder(run.run_dir, info, options.data), factor=factor, testskip=1,
                       allow_outside=info.allow_outside_paths)
    started = time.perf_counter()
    summary = EXPORTERS[options.format](run, scene, options, progress)
    summary.setdefault("seconds", time.perf_counter() - started)
    return summary


__all__ = ["DEFAULT_LEVEL", "DEFAULT_MIN_OPACITY", "DEFAULT_RESOLUTION", "ExportOptions", "FORMATS",
           "MAX_RESOLUTION", "camera_depths", "camera_ray_norms", "check_options", "check_resolution",
           "density_grid", "depth_png", "export", "inward_view_dirs", "mesh_from_grid", "mesh_to_world",
           "ndc_box", "ndc_to_world", "outward_view_dirs", "parse_bounds", "ply_bytes", "points_from_depth",
           "radiance_field_of", "scene_box", "surface_colour", "surface_from_render", "world_to_ndc", "write_ply",
           "z_depth_from_ray_distance"]
