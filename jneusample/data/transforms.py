"""Users' own scenes: one ``transforms.json`` as instant-ngp, nerfstudio or ``jneusample colmap2nerf`` write it.

Accepted keys (top level; any camera key may be repeated per frame to override it, but all frames must end up
with one shared camera, and all images must have one size):

- ``frames``: list of ``{"file_path": ..., "transform_matrix": 4x4}``. ``file_path`` is relative to the folder
  of ``transforms.json`` (``.png`` is tried when it has no extension and the plain name is missing);
  ``transform_matrix`` is camera-to-world in the OpenGL/NeRF convention (x right, y up, camera looks down −z).
  Frames are sorted by ``file_path`` before splitting.
- camera, either ``fl_x`` [, ``fl_y``] [, ``cx``, ``cy``] or ``camera_angle_x`` [, ``camera_angle_y``]
  (radians), with optional ``w``, ``h``: the image size those numbers refer to (default: the real size; when it
  differs, with the same aspect ratio, the camera is scaled to the real size). ``cx``/``cy`` are in the
  *pixel-edge* convention of those tools (pixel k covers [k, k+1), its centre is k + 0.5), default ``w/2``,
  ``h/2``; they become our pixel-index convention as ``cx − 0.5``. ``fl_y`` defaults to ``fl_x``.
  Lens distortion keys (``k1``, ``k2``, ``p1``, ``p2``, …) are ignored: images must be (nearly) undistorted.
  ``camera_model`` other than a pinhole/OpenCV one (fisheye, equirectangular) is refused.
- ``near``, ``far`` (or ``near_plane``, ``far_plane``): depth bounds in the file's world units. Missing ones
  are estimated (see :func:`estimate_bounds`).
- ``ndc`` (bool, default false): forward-facing capture; use LLFF's processing and NDC rays.
- ``white_background`` (bool): overrides the default (true only when some image has transparent pixels,
  which are then composited on white).

Other keys (``aabb_scale``, ``scale``, ``offset``, ``applied_transform``, …) are ignored.

World normalisation (``normalize=True``, the default), because the positional encodings assume a scene of a few
units: with ``ndc`` the LLFF processing (scale by 1/(0.75·near), recentre on the average pose); otherwise, for an
object-centric capture (optical axes converge, see :func:`estimate_centre`), translate the estimated centre to
the origin and scale so the mean camera distance to it is 4 (NeRF's Blender cameras); for a forward-facing
capture without ``ndc``, the LLFF processing too. ``near``/``far`` are scaled with the world.

Render path: object-centric → a 120-frame circle around the centre's vertical axis (the mean camera up) at the
cameras' mean height and mean horizontal distance, looking at the centre; forward-facing or ``ndc`` → LLFF's
spiral.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import InputError
from .blender import check_pose, read_json
from .images import check_factor, check_same_size, composite_on_background, downscale, inside_scene, read_image
from .camera_paths import circle_path, spiral_path, view_matrix
from .llff import BD_FACTOR, recenter_poses
from .scene import holdout_splits, Intrinsics, Scene, Views

CAMERA_KEYS = ("fl_x", "fl_y", "cx", "cy", "w", "h", "camera_angle_x", "camera_angle_y", "camera_model")
UNSUPPORTED_MODELS = ("FISHEYE", "EQUIRECTANGULAR", "SPHERICAL", "FOV", "THIN_PRISM")
MIN_AXIS_SPREAD = 0.005
"""Smallest eigenvalue / n of Σ(I − f fᵀ) for which the optical axes are taken to meet at a point (≈ 4°)."""
OBJECT_CENTRIC_SPREAD = 0.05
"""Above this (≈ a 50° arc of viewing directions) the capture is object-centric rather than forward-facing."""
TARGET_CAMERA_DISTANCE = 4.0
"""Mean camera distance to the scene centre after normalisation (NeRF's Blender camera radius)."""


# --------------------------------------------------------------------------------------------------------------
# Camera geometry
# --------------------------------------------------------------------------------------------------------------


def estimate_centre(c2w: np.ndarray) -> tuple[np.ndarray | None, float]:
    """The point closest (least squares) to all optical axes, and how much the axes' directions spread.

    Args:
        c2w: (n, 3, 4) OpenGL camera-to-world poses.
    Returns:
        ``(centre (3,) or None, spread)``: spread is the smallest eigenvalue of Σ(I − f fᵀ) divided by n, f the
        unit forward (−z) axes: 0 when all axes are parallel, 0.5 for cameras all around a ring. The centre is
        None when spread < ``MIN_AXIS_SPREAD`` or the point is not in front of every camera.
    """
    c2w = np.asarray(c2w, np.float64)
    centres = c2w[:, :3, 3]
    forward = -c2w[:, :3, 2] / np.linalg.norm(c2w[:, :3, 2], axis=1, keepdims=True)
    projectors = np.eye(3)[None] - forward[:, :, None] * forward[:, None, :]
    a = projectors.sum(axis=0)
    b = np.einsum("nij,nj->i", projectors, centres)
    spread = float(np.linalg.eigvalsh(a).min() / len(c2w))
    if spread < MIN_AXIS_SPREAD:
        return None, spread
    centre = np.linalg.solve(a, b)
    if np.any(np.einsum("ni,ni->n", centre[None] - centres, forward) <= 0):
        return None, spread
    return centre, spread


def estimate_bounds(c2w: np.ndarray, centre: np.ndarray | None) -> tuple[float, float]:
    """Near/far depths from the cameras alone (no scene points).

    With a centre (the point the optical axes converge to): z_i its depth in camera i, d_i its distance,
    r = d̄/2 (an object filling half the camera distance); near = max(0.05·min z, min z − r), far = max d + r.
    For cameras on a sphere of radius 4 looking at its centre this gives NeRF's Blender bounds 2 and 6, and the
    bounds always bracket the centre. Without one (parallel or diverging axes) there is no depth cue:
    near = L, far = 10·L with L the largest distance between two cameras (1 if they coincide).
    """
    c2w = np.asarray(c2w, np.float64)
    centres = c2w[:, :3, 3]
    if centre is not None:
        forward = -c2w[:, :3, 2] / np.linalg.norm(c2w[:, :3, 2], axis=1, keepdims=True)
        depth = np.einsum("ni,ni->n", centre[None] - centres, forward)
        dist = np.linalg.norm(centre[None] - centres, axis=1)
        radius = 0.5 * dist.mean()
        return float(max(0.05 * depth.min(), depth.min() - radius)), float(dist.max() + radius)
    span = float(np.max(np.linalg.norm(centres[:, None] - centres[None], axis=-1))) if len(centres) > 1 else 0.0
    span = span if span > 1e-9 else 1.0
    return span, 10.0 * span


def _number(value, path: Path, key: str, where: str, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{path}: {where}'{key}' must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise InputError(f"{path}: {where}'{key}' must be positive, got {value!r}")
    return float(value)


def camera_for_frame(keys: dict, path: Path, where: str, width: int, height: int) -> tuple[float, ...]:
    """(fx, fy, cx, cy) in pixels of the real image (width x height), cx/cy still in the pixel-edge convention."""
    model = keys.get("camera_model")
    if isinstance(model, str) and any(tag in model.upper() for tag in UNSUPPORTED_MODELS):
        raise InputError(
            f"{path}: {where}camera_model {model!r} is not supported (only pinhole cameras; undistort the images "
            "first, e.g. with colmap image_undistorter)"
        )
    ref_w = _number(keys["w"], path, "w", where) if "w" in keys else float(width)
    ref_h = _number(keys["h"], path, "h", where) if "h" in keys else float(height)
    if "fl_x" in keys or "fl_y" in keys:
        fx = _number(keys.get("fl_x", keys.get("fl_y")), path, "fl_x", where)
        fy = _number(keys.get("fl_y", fx), path, "fl_y", where)
    elif "camera_angle_x" in keys:
        ax = _number(keys["camera_angle_x"], path, "camera_angle_x", where)
        if ax >= math.pi:
            raise InputError(f"{path}: {where}'camera_angle_x' must be an angle in (0, pi) radians, got {ax!r}")
        fx = 0.5 * ref_w / math.tan(0.5 * ax)
        fy = fx
        if "camera_angle_y" in keys:
            ay = _number(keys["camera_angle_y"], path, "camera_angle_y", where)
            if ay >= math.pi:
                raise InputError(f"{path}: {where}'camera_angle_y' must be an angle in (0, pi) radians, got {ay!r}")
            fy = 0.5 * ref_h / math.tan(0.5 * ay)
    else:
        raise InputError(f"{path}: {where}no camera: give 'fl_x' (and 'fl_y', 'cx', 'cy') or 'camera_angle_x'")
    cx = _number(keys["cx"], path, "cx", where, positive=False) if "cx" in keys else ref_w / 2.0
    cy = _number(keys["cy"], path, "cy", where, positive=False) if "cy" in keys else ref_h / 2.0
    sx, sy = width / ref_w, height / ref_h
    if abs(sx - sy) > 0.01 * max(sx, sy):
        raise InputError(
            f"{path}: {where}'w'/'h' say {ref_w:g}x{ref_h:g} but the image is {width}x{height} "
            "(a different aspect ratio)"
        )
    # In the pixel-edge convention a resize scales every coordinate linearly.
    return fx * sx, fy * sy, cx * sx, cy * sy


def _bound(meta: dict, path: Path, names: tuple[str, ...]) -> float | None:
    for name in names:
        if name in meta and meta[name] is not None:
            value = _number(meta[name], path, name, "", positive=False)
            if value < 0:
                raise InputError(f"{path}: '{name}' must not be negative, got {value:g}")
            return value
    return None


def _frame_image_path(root: Path, file_path: str, source: str, allow_outside: bool = False) -> Path:
    """The frame's image file, inside ``root`` unless ``allow_outside`` (checked before anything is opened)."""
    candidate = inside_scene(root, file_path, source, allow_outside)
    if not candidate.exists() and not candidate.suffix:
        for suffix in (".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG"):
            with_suffix = inside_scene(root, file_path + suffix, source, allow_outside)
            if with_suffix.exists():
                return with_suffix
    return candidate


def _unique_names(file_paths: list[str]) -> list[str]:
    stems = [Path(p).stem for p in file_paths]
    if len(set(stems)) == len(stems):
        return stems
    return [str(Path(p).with_suffix("")).strip("./").replace("/", "_").replace("\\", "_") for p in file_paths]


def read_frames(path: Path, meta: dict, factor: int, white: bool | None, allow_outside: bool = False):
    """Images (n, H, W, 3) float32, poses (n, 3, 4) float64, names, intrinsics and whether any image had alpha."""
    root = path.parent
    frames = meta.get("frames")
    if not isinstance(frames, list) or not frames:
        raise InputError(f"{path}: has no 'frames' list")
    for index, frame in enumerate(frames):
        if not isinstance(frame, dict) or "file_path" not in frame or "transform_matrix" not in frame:
            raise InputError(f"{path}: frame {index} lacks 'file_path' or 'transform_matrix'")
    order = sorted(range(len(frames)), key=lambda i: str(frames[i]["file_path"]))
    top = {key: meta[key] for key in CAMERA_KEYS if key in meta}
    images, poses, shapes, camera, alpha_seen = [], [], {}, None, False
    for index in order:
        frame = frames[index]
        pose = check_pose(frame["transform_matrix"], path, index).astype(np.float64)
        image_path = _frame_image_path(root, str(frame["file_path"]), f"{path}: frame {index}", allow_outside)
        image = read_image(image_path)
        shapes[image_path] = image.shape
        check_same_size(shapes)
        check_factor(image.shape, factor, image_path, quiet=len(shapes) > 1)
        has_alpha = image.shape[-1] == 4 and float(image[..., 3].min()) < 1.0
        alpha_seen = alpha_seen or has_alpha
        on_white = has_alpha if white is None else white
        keys = {**top, **{key: frame[key] for key in CAMERA_KEYS if key in frame}}
        where = f"frame {index}: " if any(key in frame for key in CAMERA_KEYS) else ""
        this = camera_for_frame(keys, path, where, image.shape[1], image.shape[0])
        if camera is None:
            camera = this
        elif not np.allclose(this, camera, rtol=1e-3, atol=0.05):
            raise InputError(
                f"{path}: frame {index} ({frame['file_path']}) has a different camera (fx, fy, cx, cy) = "
                f"{tuple(round(v, 2) for v in this)} from the first frame's {tuple(round(v, 2) for v in camera)}; "
                "all frames must share one camera"
            )
        images.append(downscale(composite_on_background(image, on_white), factor).astype(np.float32))
        poses.append(pose)
    height, width = next(iter(shapes.values()))[:2]
    fx, fy, cx, cy = camera
    intrinsics = Intrinsics(width=int(width), height=int(height), fx=fx, fy=fy, cx=cx - 0.5, cy=cy - 0.5)
    names = _unique_names([str(frames[i]["file_path"]) for i in order])
    return np.stack(images), np.stack(poses), names, intrinsics.downscaled(factor), alpha_seen


def _llff_normalise(poses: np.ndarray, near: float, far: float):
    """LLFF's rescale (nearest bound → 1/0.75) and recentring; returns poses, near, far in the new world."""
    scale = 1.0 / (BD_FACTOR * near)
    poses = poses.copy()
    poses[:, :, 3] *= scale
    poses, _ = recenter_poses(poses)
    return poses, near * scale, far * scale


def load_transforms(root, factor: int = 1, testskip: int = 1, holdout: int = 8, ndc: bool | None = None,
                    normalize: bool = True, n_render_frames: int = 120, allow_outside: bool = False) -> Scene:
    """Load a scene described by ``root/transforms.json`` (see the module docstring for the keys).

    Args:
        root: the folder holding ``transforms.json`` (image paths are relative to it).
        factor: downscale images by area averaging (intrinsics follow :meth:`Intrinsics.downscaled`).
        testskip: keep every ``testskip``-th view of the held-out (test/val) split.
        holdout: every ``holdout``-th frame (after sorting by file_path) is the test/val split; 0: none.
        ndc: forward-facing NDC processing; None: the file's ``ndc`` key (default False).
        normalize: move/scale the world as described in the module docstring (False: keep the file's world,
            near/far as given or estimated there).
        n_render_frames: frames of the render path.
        allow_outside: let image paths lead outside ``root`` (refused by default).
    Returns:
        a :class:`Scene` with format 'transforms'; c2w (n, 3, 4) float32.
    """
    root = Path(root)
    path = root / "transforms.json"
    if factor < 1:
        raise InputError(f"--factor must be a positive integer, got {factor}")
    meta = read_json(path)
    if ndc is None:
        ndc = meta.get("ndc", False)
        if not isinstance(ndc, bool):
            raise InputError(f"{path}: 'ndc' must be true or false, got {ndc!r}")
    white = meta.get("white_background")
    if white is not None and not isinstance(white, bool):
        raise InputError(f"{path}: 'white_background' must be true or false, got {white!r}")
    images, poses, names, intrinsics, alpha_seen = read_frames(path, meta, factor, white, allow_outside)
    n = len(poses)

    near = _bound(meta, path, ("near", "near_plane"))
    far = _bound(meta, path, ("far", "far_plane"))
    centre, spread = estimate_centre(poses)
    if near is None or far is None:
        est_near, est_far = estimate_bounds(poses, centre)
        near = est_near if near is None else near
        far = est_far if far is None else far
        if far <= near:  # one given, one estimated, and they disagree
            far = max(far, 10.0 * near)
    if near <= 0 and ndc:
        raise InputError(f"{path}: 'near' must be positive for ndc scenes (the rescale divides by it)")
    if far <= near:
        raise InputError(f"{path}: 'far' ({far:g}) must be larger than 'near' ({near:g})")
    object_centric = centre is not None and spread >= OBJECT_CENTRIC_SPREAD

    if ndc:
        forward = -poses[:, :3, 2] / np.linalg.norm(poses[:, :3, 2], axis=1, keepdims=True)
        mean_forward = forward.sum(axis=0) / np.linalg.norm(forward.sum(axis=0))
        if np.any(forward @ mean_forward < 0.0):
            raise InputError(f"{path}: 'ndc' needs forward-facing cameras, but some look away from the others")
        poses, near, far = _llff_normalise(poses, near, far)
        render_path = spiral_path(poses, near, far, n_frames=n_render_frames)
    elif object_centric:
        if normalize:
            scale = TARGET_CAMERA_DISTANCE / float(np.linalg.norm(poses[:, :3, 3] - centre, axis=1).mean())
            poses = poses.copy()
            poses[:, :3, 3] = (poses[:, :3, 3] - centre) * scale
            near, far, centre = near * scale, far * scale, np.zeros(3)
        render_path = circle_path(poses, centre, n_frames=n_render_frames)
    else:
        if normalize and near > 0:
            poses, near, far = _llff_normalise(poses, near, far)
        render_path = spiral_path(poses, max(near, 1e-6), far, n_frames=n_render_frames)

    all_views = Views(images=images, c2w=poses.astype(np.float32), names=names)
    splits = holdout_splits(all_views, holdout, testskip, path)

    return Scene(
        name=root.name, format="transforms", root=root, intrinsics=intrinsics, splits=splits,
        near=0.0 if ndc else float(near), far=1.0 if ndc else float(far),
        white_background=alpha_seen if white is None else white, ndc=bool(ndc), ndc_near_plane=1.0,
        render_path=render_path, factor=factor, batch_across_views=bool(ndc),
    )


__all__ = ["camera_for_frame", "circle_path", "estimate_bounds", "estimate_centre", "load_transforms"]
