"""Camera paths for videos and benchmarks: every pose generator lives here.

* :func:`spherical_path` -- NeRF's Blender video path: cameras on a sphere around the origin
  (:func:`spherical_pose` is one such camera);
* :func:`spiral_path` -- NeRF's forward-facing spiral around the average pose (LLFF, forward-facing
  ``transforms.json`` scenes);
* :func:`circle_path` -- a horizontal circle around an object's centre (object-centric ``transforms.json``);
* :func:`interpolated_path` -- a smooth path through a few training cameras (Catmull-Rom positions, slerped
  rotations; :func:`interpolate_poses` is the interpolation);
* :func:`read_camera_path` -- the cameras of a nerfstudio ``camera_path.json`` (:class:`CameraPath`), each
  with its own vertical field of view (:func:`fov_intrinsics`).

Poses are camera-to-world (…, 3, 4) in the OpenGL/NeRF convention (x right, y up, the camera looks down −z),
float32 NumPy arrays. :func:`view_matrix` and :func:`average_pose` are the pose geometry the paths (and the LLFF
recentring) are built from.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .colmap import quaternion_to_rotation  # the one Hamilton-convention conversion (COLMAP's too)
from .scene import Intrinsics, check_rotations


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def view_matrix(back: np.ndarray, up: np.ndarray, position: np.ndarray) -> np.ndarray:
    """(3, 4) camera-to-world whose z axis is ``back`` (the camera looks along −back) with y as close to ``up``.

    Args:
        back: (3,) the camera's +z axis in world space (need not be unit length).
        up: (3,) approximate +y axis; must not be parallel to ``back``.
        position: (3,) camera centre.
    """
    z = _normalize(np.asarray(back, np.float64))
    x = _normalize(np.cross(np.asarray(up, np.float64), z))
    y = np.cross(z, x)
    return np.stack([x, y, z, np.asarray(position, np.float64)], axis=1)


def average_pose(poses: np.ndarray) -> np.ndarray:
    """(3, 4) average of (n, 3, 4) camera-to-world poses: mean centre, summed z axes, summed y axes as up."""
    poses = np.asarray(poses, np.float64)
    centre = poses[:, :3, 3].mean(axis=0)
    back = poses[:, :3, 2].sum(axis=0)
    up = poses[:, :3, 1].sum(axis=0)
    return view_matrix(back, up, centre)


def spherical_pose(theta_deg: float, phi_deg: float, radius: float) -> np.ndarray:
    """Camera-to-world (3, 4) on a sphere looking at the origin, as NeRF's Blender ``pose_spherical``."""
    trans = np.eye(4)
    trans[2, 3] = radius
    phi = np.deg2rad(phi_deg)
    rot_phi = np.array(
        [[1, 0, 0, 0], [0, np.cos(phi), -np.sin(phi), 0], [0, np.sin(phi), np.cos(phi), 0], [0, 0, 0, 1]]
    )
    th = np.deg2rad(theta_deg)
    rot_theta = np.array(
        [[np.cos(th), 0, -np.sin(th), 0], [0, 1, 0, 0], [np.sin(th), 0, np.cos(th), 0], [0, 0, 0, 1]]
    )
    swap = np.array([[-1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])
    c2w = swap @ rot_theta @ rot_phi @ trans
    return c2w[:3].astype(np.float32)


def spherical_path(n_frames: int = 40, phi_deg: float = -30.0, radius: float = 4.0) -> np.ndarray:
    """(n, 3, 4) poses circling the origin (the official 40-pose Blender path, generalised to n frames)."""
    thetas = np.linspace(-180.0, 180.0, n_frames + 1)[:-1]
    return np.stack([spherical_pose(t, phi_deg, radius) for t in thetas]).astype(np.float32)


def spiral_path(poses: np.ndarray, near: float, far: float, n_frames: int = 120, n_rots: float = 2.0,
                zrate: float = 0.5) -> np.ndarray:
    """NeRF's forward-facing spiral: (n_frames, 3, 4) camera-to-world poses.

    The spiral is centred on the average pose ``A`` of ``poses`` (n, 3, 4). Its radii are the 90th percentile of
    the absolute camera offsets from ``A`` in A's frame (x, y, z separately). Every frame looks at the point at
    depth ``focus = 1 / (0.25/close + 0.75/inf)`` in front of ``A``, with ``close = 0.9·near`` and
    ``inf = 5·far`` (a disparity-weighted focus depth). Frame k at angle θ = 2π·n_rots·k/n_frames sits at
    ``A · (r_x cos θ, −r_y sin θ, −r_z sin(zrate·θ))``. For recentred poses (A = identity) this is NeRF's
    ``render_path_spiral`` exactly.
    """
    poses = np.asarray(poses, np.float64)
    avg = average_pose(poses)
    rot, centre = avg[:, :3], avg[:, 3]
    up = _normalize(poses[:, :3, 1].sum(axis=0))
    close_depth, inf_depth = 0.9 * float(near), 5.0 * float(far)
    dt = 0.75
    focus = 1.0 / ((1.0 - dt) / close_depth + dt / inf_depth)
    offsets = (poses[:, :3, 3] - centre) @ rot  # camera centres in the average pose's frame
    radii = np.percentile(np.abs(offsets), 90, axis=0)
    target = centre + rot @ np.array([0.0, 0.0, -focus])
    frames = []
    for theta in np.linspace(0.0, 2.0 * np.pi * n_rots, n_frames + 1)[:-1]:
        local = np.array([np.cos(theta), -np.sin(theta), -np.sin(theta * zrate)]) * radii
        position = centre + rot @ local
        frames.append(view_matrix(position - target, up, position))
    return np.stack(frames).astype(np.float32)


def circle_path(c2w: np.ndarray, centre: np.ndarray, n_frames: int = 120) -> np.ndarray:
    """(n_frames, 3, 4) poses on a circle around ``centre``, looking at it.

    The circle's axis is the mean camera up (y) direction through ``centre``; its height and radius are the mean
    height and mean horizontal distance of the cameras (n, 3, 4); it starts at the first camera's azimuth.
    """
    c2w = np.asarray(c2w, np.float64)
    up = c2w[:, :3, 1].sum(axis=0)
    up = up / np.linalg.norm(up)
    offsets = c2w[:, :3, 3] - centre
    heights = offsets @ up
    horizontal = offsets - heights[:, None] * up
    radius = float(np.linalg.norm(horizontal, axis=1).mean())
    e1 = horizontal[0]
    if np.linalg.norm(e1) < 1e-9:
        e1 = np.cross(up, [1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.cross(up, [0.0, 1.0, 0.0])
    e1 = e1 / np.linalg.norm(e1)
    e2 = np.cross(up, e1)
    frames = []
    for theta in np.linspace(0.0, 2.0 * np.pi, n_frames + 1)[:-1]:
        position = centre + heights.mean() * up + radius * (np.cos(theta) * e1 + np.sin(theta) * e2)
        frames.append(view_matrix(position - centre, up, position))
    return np.stack(frames).astype(np.float32)


# --------------------------------------------------------------------------------------------------------------
# A smooth path through training cameras
# --------------------------------------------------------------------------------------------------------------

INTERPOLATE_KEYS = 5
"""Training cameras an interpolated path passes through (fewer when the split has fewer)."""


def rotation_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """(4,) unit quaternion (w, x, y, z) with w ≥ 0 of a (3, 3) rotation matrix.

    The largest of 1 + trace and 1 ± the diagonal terms is taken under the square root (Shepperd's choice), so
    no division is by a number near zero, whatever the angle.
    """
    r = np.asarray(rotation, np.float64)
    trace = r[0, 0] + r[1, 1] + r[2, 2]
    candidates = [1.0 + trace, 1.0 + r[0, 0] - r[1, 1] - r[2, 2], 1.0 - r[0, 0] + r[1, 1] - r[2, 2],
                  1.0 - r[0, 0] - r[1, 1] + r[2, 2]]
    k = int(np.argmax(candidates))
    s = 2.0 * math.sqrt(max(candidates[k], 1e-300))  # s = 4·|q_k|
    if k == 0:
        q = [s / 4, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
    elif k == 1:
        q = [(r[2, 1] - r[1, 2]) / s, s / 4, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
    elif k == 2:
        q = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, s / 4, (r[1, 2] + r[2, 1]) / s]
    else:
        q = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, s / 4]
    q = np.asarray(q) / np.linalg.norm(q)
    return -q if q[0] < 0 else q


def slerp(q0: np.ndarray, q1: np.ndarray, t: float) -> np.ndarray:
    """Unit quaternion a fraction ``t`` ∈ [0, 1] of the way from ``q0`` to ``q1`` at constant angular speed,
    along the shorter arc (q and −q are the same rotation)."""
    q0 = np.asarray(q0, np.float64) / np.linalg.norm(q0)
    q1 = np.asarray(q1, np.float64) / np.linalg.norm(q1)
    cos = float(np.dot(q0, q1))
    if cos < 0.0:
        q1, cos = -q1, -cos
    if cos > 1.0 - 1e-9:  # (almost) the same rotation: sin(angle) would vanish; the chord is the arc
        q = (1.0 - t) * q0 + t * q1
        return q / np.linalg.norm(q)
    angle = math.acos(cos)
    return (math.sin((1.0 - t) * angle) * q0 + math.sin(t * angle) * q1) / math.sin(angle)


def catmull_rom(points: np.ndarray, segment: int, t: float) -> np.ndarray:
    """Point a fraction ``t`` ∈ [0, 1] along segment ``segment`` (from ``points[segment]`` to the next) of the
    uniform Catmull-Rom spline through ``points`` (k, 3), k ≥ 2.

    The spline passes through every point with a continuous tangent (½ the chord between the neighbours); the
    missing neighbours at the two ends are the end points mirrored (P₋₁ = 2P₀ − P₁), which makes the end
    tangents the first and last chords.
    """
    p = np.asarray(points, np.float64)
    before = p[segment - 1] if segment > 0 else 2 * p[0] - p[1]
    after = p[segment + 2] if segment + 2 < len(p) else 2 * p[-1] - p[-2]
    p1, p2 = p[segment], p[segment + 1]
    return 0.5 * (2 * p1 + (p2 - before) * t + (2 * before - 5 * p1 + 4 * p2 - after) * t ** 2
                  + (3 * p1 - before - 3 * p2 + after) * t ** 3)


def interpolate_poses(keys: np.ndarray, n_frames: int) -> np.ndarray:
    """(n_frames, 3, 4) poses from the first to the last of the key poses ``keys`` (k, 3, 4), through all.

    Frame f sits at the spline parameter u = f·(k − 1)/(n_frames − 1) (the same share of frames per segment):
    key i at u = i, positions on :func:`catmull_rom`, rotations by :func:`slerp` between the two keys of the
    segment. One key (or one frame) gives copies of the first key.
    """
    keys = np.asarray(keys, np.float64)
    if len(keys) == 1 or n_frames == 1:
        return np.repeat(keys[:1], n_frames, axis=0).astype(np.float32)
    quats = [rotation_to_quaternion(key[:, :3]) for key in keys]
    positions = keys[:, :, 3]
    frames = []
    for u in np.linspace(0.0, len(keys) - 1.0, n_frames):
        segment = min(int(u), len(keys) - 2)
        t = float(u - segment)
        rotation = quaternion_to_rotation(slerp(quats[segment], quats[segment + 1], t))
        frames.append(np.concatenate([rotation, catmull_rom(positions, segment, t)[:, None]], axis=1))
    return np.stack(frames).astype(np.float32)


def key_views(available: int, keys: int = INTERPOLATE_KEYS) -> list[int]:
    """Indices of ``keys`` views spread evenly over ``available`` (first and last included), in order."""
    count = max(1, min(keys, available))
    return sorted({int(round(i)) for i in np.linspace(0, available - 1, count)})


def interpolated_path(c2w: np.ndarray, n_frames: int = 120, keys: int = INTERPOLATE_KEYS) -> np.ndarray:
    """(n_frames, 3, 4) smooth path through ``keys`` of the cameras ``c2w`` (n, 3, 4), taken evenly spaced in
    their order (the first and the last included): :func:`interpolate_poses` through them."""
    c2w = np.asarray(c2w)
    return interpolate_poses(c2w[key_views(len(c2w), keys)], n_frames)


# --------------------------------------------------------------------------------------------------------------
# nerfstudio camera_path.json
# --------------------------------------------------------------------------------------------------------------

CAMERA_TYPES = ("perspective",)
"""camera_type values we render (nerfstudio also writes fisheye, equirectangular, omnidirectional, vr180)."""


@dataclass(frozen=True)
class CameraPath:
    """The cameras of a nerfstudio ``camera_path.json``: one pose and field of view per frame."""

    c2w: np.ndarray
    """(n, 3, 4) float32 camera-to-world, OpenGL/NeRF convention (as Blender's transform_matrix)."""
    fov_deg: np.ndarray
    """(n,) float64 vertical field of view of each frame, degrees in (0, 180)."""
    width: int
    """render_width, pixels."""
    height: int
    """render_height, pixels."""
    fps: float
    """Frames per second: ``fps``, else the frame count over ``seconds``."""

    def __len__(self) -> int:
        return int(self.c2w.shape[0])

    def intrinsics(self, index: int, factor: int = 1) -> Intrinsics:
        """The camera of frame ``index`` at the file's size divided by ``factor`` (rounded down)."""
        return fov_intrinsics(float(self.fov_deg[index]), self.width // factor, self.height // factor)


def fov_intrinsics(fov_deg: float, width: int, height: int) -> Intrinsics:
    """Pinhole camera of ``width`` x ``height`` pixels with vertical field of view ``fov_deg`` degrees.

    As nerfstudio's renderer: square pixels, fx = fy = (height / 2) / tan(fov / 2), principal point at the
    image centre (width / 2, height / 2), in this project's pixel-index units (scene.py), so a path camera
    equal to a Blender view renders exactly that view.
    """
    focal = (height / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
    return Intrinsics(width=int(width), height=int(height), fx=focal, fy=focal, cx=width / 2.0, cy=height / 2.0)


def _finite_numbers(value: Any) -> np.ndarray | None:
    """``value`` (a number or nested lists of numbers) as a float64 array, or None when anything in it is not a
    JSON number (strings, booleans and nulls are refused: NumPy would quietly convert "1" and true)."""
    if isinstance(value, list):
        parts = [_finite_numbers(item) for item in value]
        if any(part is None for part in parts):
            return None
        try:
            return np.array(parts, dtype=np.float64)
        except ValueError:  # ragged nesting
            return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray(float(value))
    return None


def _positive(meta: dict, key: str, where: str, integer: bool = False) -> float:
    """``meta[key]`` as a finite positive number (an integer when ``integer``), or a one-line error."""
    value = meta[key]
    number = _finite_numbers(value)
    if number is None or number.ndim != 0 or not np.isfinite(number) or number <= 0 \
            or (integer and float(number) != int(number)):
        kind = "a positive integer" if integer else "a finite positive number"
        raise InputError(f"{where}: '{key}' must be {kind}, got {json.dumps(value)[:40]}")
    return float(number)


def _entry_pose(entry: Any, where: str) -> tuple[np.ndarray, float]:
    """(3, 4) camera-to-world and vertical fov (degrees) of one ``camera_path`` entry, or a one-line error."""
    if not isinstance(entry, dict):
        raise InputError(f"{where}: expected an object with 'camera_to_world' and 'fov'")
    for key in ("camera_to_world", "fov"):
        if key not in entry:
            raise InputError(f"{where}: missing key '{key}'")
    matrix = _finite_numbers(entry["camera_to_world"])
    if matrix is None or matrix.size != 16 or matrix.shape not in ((16,), (4, 4)):
        raise InputError(f"{where}: 'camera_to_world' must be 16 numbers (a row-major 4x4 matrix)")
    if not np.all(np.isfinite(matrix)):
        raise InputError(f"{where}: 'camera_to_world' has non-finite numbers")
    matrix = matrix.reshape(4, 4)
    if np.abs(matrix[3] - [0.0, 0.0, 0.0, 1.0]).max() > 1e-6:
        raise InputError(f"{where}: 'camera_to_world' must end with the row 0 0 0 1 (a rigid transform)")
    check_rotations(matrix[None, :3, :3], lambda _: where)
    fov = _finite_numbers(entry["fov"])
    if fov is None or fov.ndim != 0 or not np.isfinite(fov) or not 0.0 < float(fov) < 180.0:
        raise InputError(f"{where}: 'fov' must be a vertical field of view in degrees in (0, 180), "
                         f"got {json.dumps(entry['fov'])[:40]}")
    if "aspect" in entry:  # the viewer's aspect: the size comes from render_width/render_height, as nerfstudio
        _positive(entry, "aspect", where)
    return matrix[:3], float(fov)


def parse_camera_path(meta: Any, source: str | Path) -> CameraPath:
    """A :class:`CameraPath` from the parsed JSON of a camera_path.json; ``source`` names the file in errors.

    Required: ``render_width``, ``render_height``, ``camera_path`` (a non-empty list of entries with
    ``camera_to_world`` and ``fov``), and ``fps`` or ``seconds``. ``keyframes`` (the viewer's editing state) and
    unknown keys are ignored; ``camera_type``, when given, must be 'perspective'.
    """
    if not isinstance(meta, dict):
        raise InputError(f"{source}: expected a JSON object at the top level")
    camera_type = meta.get("camera_type", "perspective")
    if camera_type not in CAMERA_TYPES:
        raise InputError(f"{source}: camera_type {json.dumps(camera_type)[:40]} is not supported "
                         f"(only {', '.join(CAMERA_TYPES)})")
    for key in ("render_width", "render_height", "camera_path"):
        if key not in meta:
            raise InputError(f"{source}: missing key '{key}'")
    width = int(_positive(meta, "render_width", str(source), integer=True))
    height = int(_positive(meta, "render_height", str(source), integer=True))
    entries = meta["camera_path"]
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{source}: 'camera_path' must be a non-empty list of cameras")
    poses, fovs = zip(*(_entry_pose(entry, f"{source}: camera_path[{i}]") for i, entry in enumerate(entries)))
    if "fps" in meta:
        fps = _positive(meta, "fps", str(source))
    elif "seconds" in meta:  # nerfstudio's own renderer derives the rate this way
        fps = len(entries) / _positive(meta, "seconds", str(source))
    else:
        raise InputError(f"{source}: missing key 'fps' (or 'seconds')")
    return CameraPath(c2w=np.stack(poses).astype(np.float32), fov_deg=np.asarray(fovs, np.float64),
                      width=width, height=height, fps=fps)


def read_camera_path(path: str | Path) -> CameraPath:
    """The cameras of the nerfstudio ``camera_path.json`` at ``path`` (see :func:`parse_camera_path`).

    The poses are used as they are: they must be in the scene's world frame as this project loads it (for a
    Blender scene, the coordinates of its transforms files).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: camera path file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the camera path ({exc.__class__.__name__})") from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    return parse_camera_path(meta, path)


__all__ = ["CameraPath", "average_pose", "circle_path", "fov_intrinsics", "interpolate_poses", "interpolated_path",
           "parse_camera_path", "read_camera_path", "spherical_path", "spherical_pose", "spiral_path",
           "view_matrix"]
