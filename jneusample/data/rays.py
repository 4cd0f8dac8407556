"""Camera rays: pinhole rays for pixels and normalised device coordinates (camera paths: camera_paths.py).

All functions are NumPy: rays are made on the host per batch (cheap next to the MLPs) and handed to Jittor.
"""
from __future__ import annotations

import numpy as np

from .camera_paths import spherical_path, spherical_pose  # noqa: F401  (re-exported)
from .scene import Intrinsics


def pixel_rays(c2w: np.ndarray, intrinsics: Intrinsics, cols: np.ndarray, rows: np.ndarray):
    """Rays through pixels of one camera.

    Args:
        c2w: (3, 4) camera-to-world matrix, or (R, 3, 4): one per ray (rays drawn across views).
        intrinsics: the pinhole camera (shared by all views).
        cols, rows: (R,) integer (or float) pixel indices.
    Returns:
        origins (R, 3) and directions (R, 3), float32; directions are *not* normalised (their camera-frame
        z component is −1, so distances along them are depths, as in NeRF).
    """
    cam = np.stack(
        [
            (np.asarray(cols, np.float64) - intrinsics.cx) / intrinsics.fx,
            -(np.asarray(rows, np.float64) - intrinsics.cy) / intrinsics.fy,
            -np.ones(np.shape(cols), np.float64),
        ],
        axis=-1,
    )
    c2w = np.asarray(c2w, np.float64)
    if c2w.ndim == 3:  # one camera per ray: directions_r = R_r · cam_r
        directions = np.einsum("rij,rj->ri", c2w[:, :3, :3], cam)
        origins = c2w[:, :3, 3]
    else:
        directions = cam @ c2w[:3, :3].T
        origins = np.broadcast_to(c2w[:3, 3], directions.shape)
    return origins.astype(np.float32), directions.astype(np.float32)


def image_rays(c2w: np.ndarray, intrinsics: Intrinsics):
    """All H·W rays of one image in row-major order: origins, directions of shape (H·W, 3)."""
    rows, cols = np.meshgrid(np.arange(intrinsics.height), np.arange(intrinsics.width), indexing="ij")
    return pixel_rays(c2w, intrinsics, cols.ravel(), rows.ravel())


def ndc_rays(origins: np.ndarray, directions: np.ndarray, intrinsics: Intrinsics, near_plane: float = 1.0):
    """Map rays of a forward-facing camera to normalised device coordinates (NeRF, appendix C).

    The origin is first moved to the plane z = −near_plane; the returned origin/direction then parametrise the
    ray with t ∈ [0, 1] from that plane to infinity. Shapes (R, 3) in, (R, 3) out.
    """
    o = np.asarray(origins, np.float64)
    d = np.asarray(directions, np.float64)
    t = -(near_plane + o[:, 2]) / d[:, 2]
    o = o + t[:, None] * d
    w, h = intrinsics.width, intrinsics.height
    fx, fy = intrinsics.fx, intrinsics.fy
    o0 = -1.0 / (w / (2.0 * fx)) * o[:, 0] / o[:, 2]
    o1 = -1.0 / (h / (2.0 * fy)) * o[:, 1] / o[:, 2]
    o2 = 1.0 + 2.0 * near_plane / o[:, 2]
    d0 = -1.0 / (w / (2.0 * fx)) * (d[:, 0] / d[:, 2] - o[:, 0] / o[:, 2])
    d1 = -1.0 / (h / (2.0 * fy)) * (d[:, 1] / d[:, 2] - o[:, 1] / o[:, 2])
    d2 = -2.0 * near_plane / o[:, 2]
    return (
        np.stack([o0, o1, o2], -1).astype(np.float32),
        np.stack([d0, d1, d2], -1).astype(np.float32),
    )


def scene_rays(scene, c2w: np.ndarray, cols=None, rows=None):
    """Rays of one camera of ``scene`` (or of one camera per ray: ``c2w`` (R, 3, 4)) in the space the model works in.

    Returns ``origins, directions, view_dirs``, each (R, 3) float32. ``origins``/``directions`` are what the
    sample field and the point positions use (NDC for forward-facing scenes, world space otherwise);
    ``view_dirs`` are the *world-space* unit directions that the radiance field's view encoding sees (NeRF's
    choice; the official LLFF config used the NDC direction divided by 32, which nearly removes view
    dependence). With ``cols``/``rows`` omitted, all pixels of the image in row-major order.
    """
    if cols is None:
        origins, directions = image_rays(c2w, scene.intrinsics)
    else:
        origins, directions = pixel_rays(c2w, scene.intrinsics, cols, rows)
    view_dirs = directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    if scene.ndc:
        origins, directions = ndc_rays(origins, directions, scene.intrinsics, scene.ndc_near_plane)
    return origins, directions, view_dirs.astype(np.float32)
