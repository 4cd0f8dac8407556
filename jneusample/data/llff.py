"""LLFF "Real Forward-Facing" scenes: ``poses_bounds.npy`` + ``images_{factor}/``.

File format. ``poses_bounds.npy`` is an (N, 17) array, one row per image (images sorted by file name). The first
15 numbers are a 3x5 matrix in row-major order: columns 0-2 are the camera-to-world rotation with the camera axes
in LLFF's [down, right, back] order, column 3 is the camera centre and column 4 is ``(H, W, focal)`` of the
full-size images. The last 2 numbers are the near and far depth bounds of the scene points seen by that image.

Processing (what NeRF does for ``spherify=False``, re-implemented here):

1. Camera axes [down, right, back] become [right, up, back] (OpenGL, as NeRF): new x = old y, new y = −old x.
2. Scale: ``sc = 1 / (0.75 · min bound)`` multiplies every camera centre and every bound, so the nearest scene
   point is at depth 1/0.75 ≈ 1.33, safely behind the NDC near plane at depth 1.
3. Recentre: all poses are premultiplied by the inverse of the average pose (see :func:`average_pose`), so the
   average pose becomes the identity and the cameras look down −z, as the NDC mapping assumes.
4. Render path: NeRF's spiral (:func:`spiral_path`), 120 frames, 2 turns.
5. The focal length is scaled by (loaded image width / hwf width); the principal point is the image centre
   ``cx = W/2, cy = H/2`` in pixel-index units, as NeRF's rays for LLFF.

Splits: every ``holdout``-th image (``arange(N)[::holdout]``) is the ``test`` split (also given as ``val``),
the rest is ``train``. With NDC (the default) rays live in [0, 1]; without, near = 0.9 · min bound and
far = max bound (after the rescale).

Missing ``images_{factor}/``: when ``images/`` (full size) exists and its image size is an exact multiple of
``factor``, the images are downscaled in memory by area averaging (nothing is written to the data folder);
otherwise the error lists the ``images*`` folders that do exist.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from .camera_paths import average_pose, spiral_path, view_matrix  # noqa: F401
from .images import check_factor, check_same_size, downscale, inside_scene, read_image
from .scene import check_rotations, holdout_splits, Intrinsics, Scene, Views

BD_FACTOR = 0.75
"""The nearest bound is scaled to 1/BD_FACTOR (NeRF's ``bd_factor``)."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


# --------------------------------------------------------------------------------------------------------------
# Pose geometry (shared with the transforms.json loader)
# --------------------------------------------------------------------------------------------------------------


def to_homogeneous(pose: np.ndarray) -> np.ndarray:
    """(…, 3, 4) → (…, 4, 4) with a [0, 0, 0, 1] bottom row."""
    pose = np.asarray(pose, np.float64)
    bottom = np.broadcast_to(np.array([0.0, 0.0, 0.0, 1.0]), pose.shape[:-2] + (1, 4))
    return np.concatenate([pose[..., :3, :4], bottom], axis=-2)


def recenter_poses(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Premultiply (n, 3, 4) poses by the inverse average pose; returns (recentred (n, 3, 4), the (4, 4) applied).

    Afterwards :func:`average_pose` of the result is the identity (the mean centre is the origin, the summed z
    axes point along +z, the summed y axes lie in the y-z plane).
    """
    world_from_avg = to_homogeneous(average_pose(poses))
    avg_from_world = np.linalg.inv(world_from_avg)
    recentred = avg_from_world[None] @ to_homogeneous(poses)
    return recentred[:, :3, :4], avg_from_world


def read_poses_bounds(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated contents of ``poses_bounds.npy``.

    Returns:
        poses (N, 3, 4) float64 camera-to-world in LLFF's [down, right, back] axes (not yet reordered),
        hwf (N, 3) float64 (height, width, focal) of the full-size images,
        bounds (N, 2) float64 (near, far) depths.
    """
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{path}: file is missing") from None
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "fiu":
        raise InputError(f"{path}: expected a numeric array, got {getattr(array, 'dtype', type(array))}")
    if array.ndim != 2 or array.shape[1] != 17 or array.shape[0] == 0:
        raise InputError(f"{path}: array has shape {array.shape}, expected (N, 17) (a 3x5 pose and 2 bounds per image)")
    array = array.astype(np.float64)
    bad_rows = np.nonzero(~np.all(np.isfinite(array), axis=1))[0]
    if bad_rows.size:
        raise InputError(f"{path}: row {bad_rows[0]} has non-finite values (NaN or infinity)")
    mats = array[:, :15].reshape(-1, 3, 5)
    poses, hwf, bounds = mats[:, :, :4], mats[:, :, 4], array[:, 15:17]
    for row, (near, far) in enumerate(bounds):
        if near <= 0:
            raise InputError(f"{path}: row {row}: near bound {near:g} is not positive")
        if far <= near:
            raise InputError(f"{path}: row {row}: far bound {far:g} is not beyond the near bound {near:g}")
    for row, (h, w, f) in enumerate(hwf):
        if h <= 0 or w <= 0 or f <= 0:
            raise InputError(f"{path}: row {row}: image height/width/focal ({h:g}, {w:g}, {f:g}) must be positive")
    check_rotations(poses[:, :, :3], lambda row: f"{path}: row {row}")
    return poses, hwf, bounds


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _image_folder(root: Path, factor: int, allow_outside: bool = False) -> tuple[Path, int]:
    """The folder to read and the extra in-memory downscale factor to apply to its images."""
    candidates = [root / f"images_{factor}"] + ([root / "images"] if factor == 1 else [])
    for folder in candidates:
        if folder.is_dir():
            return folder, 1
    full = root / "images"
    existing = sorted(p.name + "/" for p in root.iterdir() if p.is_dir() and p.name.startswith("images"))
    if full.is_dir():
        files = _image_files(full)
        if files:
            h, w = read_image(inside_scene(root, files[0].relative_to(root), f"{full}", allow_outside)).shape[:2]
            if h % factor == 0 and w % factor == 0:
                return full, factor
            raise InputError(
                f"{root / f'images_{factor}'}: folder is missing, and the images in images/ ({w}x{h}) cannot be "
                f"downscaled by exactly {factor} (found: {', '.join(existing)})"
            )
    raise InputError(
        f"{root / f'images_{factor}'}: folder is missing for --factor {factor} "
        f"(found: {', '.join(existing) if existing else 'no images*/ folders'})"
    )


def read_images(root: Path, factor: int, expected: int, poses_path: Path,
                allow_outside: bool = False) -> tuple[np.ndarray, list[str]]:
    """(N, H, W, 3) float32 images (alpha dropped) and their names, checked against the number of poses.

    Every image (and its folder) must resolve inside ``root`` unless ``allow_outside`` (symlinks included)."""
    folder, extra = _image_folder(root, factor, allow_outside)
    files = [inside_scene(root, path.relative_to(root), f"{folder}", allow_outside) for path in _image_files(folder)]
    if len(files) != expected:
        raise InputError(
            f"{folder}: has {len(files)} images but {poses_path.name} has {expected} poses; they must match one to one"
        )
    images, shapes = [], {}
    for path in files:
        image = read_image(path)
        shapes[path] = image.shape
        check_same_size(shapes)
        check_factor(image.shape, extra, path, quiet=True)
        images.append(downscale(image[..., :3], extra))
    return np.stack(images).astype(np.float32), [p.stem for p in files]


def load_llff(root, factor: int = 8, testskip: int = 1, holdout: int = 8, ndc: bool = True,
              n_render_frames: int = 120, allow_outside: bool = False) -> Scene:
    """Load an LLFF forward-facing scene.

    Args:
        root: folder with ``poses_bounds.npy`` and ``images_{factor}/``.
        factor: which downscaled image folder to read (8 → ``images_8/``, the standard for fern at 504x378).
        testskip: keep every ``testskip``-th view of the held-out (test/val) split.
        holdout: every ``holdout``-th image is held out for test/val (0: none, all images train).
        ndc: map rays to NDC (near 0, far 1); False keeps world-space rays with near = 0.9·min bound and
            far = max bound.
        n_render_frames: frames of the spiral render path.
        allow_outside: let image files (symlinks) lead outside ``root`` (refused by default).
    Returns:
        a :class:`Scene` with format 'llff'; c2w (n, 3, 4) float32 recentred, rescaled OpenGL poses.
    """
    root = Path(root)
    poses_path = root / "poses_bounds.npy"
    if factor < 1:
        raise InputError(f"--factor must be a positive integer, got {factor}")
    poses, hwf, bounds = read_poses_bounds(poses_path)
    n = poses.shape[0]
    images, names = read_images(root, factor, n, poses_path, allow_outside)
    height, width = images.shape[1:3]

    full_h, full_w, full_f = hwf[0]
    ratio = width / full_w
    if abs(full_h * ratio - height) > max(1.0, 0.01 * height):
        raise InputError(
            f"{poses_path}: images are {width}x{height} but the poses' hwf says {full_w:g}x{full_h:g}; "
            "the aspect ratios differ"
        )
    focal = full_f * ratio
    intrinsics = Intrinsics(width=width, height=height, fx=focal, fy=focal, cx=width / 2.0, cy=height / 2.0)

    # [down, right, back] → [right, up, back]
    poses = np.concatenate([poses[:, :, 1:2], -poses[:, :, 0:1], poses[:, :, 2:4]], axis=2)
    scale = 1.0 / (bounds.min() * BD_FACTOR)
    poses[:, :, 3] *= scale
    bounds = bounds * scale
    poses, _ = recenter_poses(poses)
    render_path = spiral_path(poses, bounds.min(), bounds.max(), n_frames=n_render_frames)

    c2w = poses.astype(np.float32)
    all_views = Views(images=images, c2w=c2w, names=names)
    splits = holdout_splits(all_views, holdout, testskip, poses_path)

    if ndc:
        near, far = 0.0, 1.0
    else:
        near, far = 0.9 * float(bounds.min()), float(bounds.max())
    return Scene(
        name=root.name, format="llff", root=root, intrinsics=intrinsics, splits=splits,
        near=near, far=far, white_background=False, ndc=ndc, ndc_near_plane=1.0,
        render_path=render_path, factor=factor, batch_across_views=True,
    )


__all__ = ["average_pose", "load_llff", "read_poses_bounds", "recenter_poses", "spiral_path", "view_matrix"]
