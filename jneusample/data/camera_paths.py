"""Camera paths for videos and benchmarks: every pose generator lives here.

* :func:`spherical_path` -- NeRF's Blender video path: cameras on a sphere around the origin
  (:func:`spherical_pose` is one such camera);
* :func:`spiral_path` -- NeRF's forward-facing spiral around the average pose (LLFF, forward-facing
  ``transforms.json`` scenes);
* :func:`circle_path` -- a horizontal circle around an object's centre (object-centric ``transforms.json``).

Poses are camera-to-world (…, 3, 4) in the OpenGL/NeRF convention (x right, y up, the camera looks down −z),
float32 NumPy arrays. :func:`view_matrix` and :func:`average_pose` are the pose geometry the paths (and the LLFF
recentring) are built from.
"""
from __future__ import annotations

import numpy as np


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


__all__ = ["average_pose", "circle_path", "spherical_path", "spherical_pose", "spiral_path", "view_matrix"]
