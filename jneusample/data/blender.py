"""NeRF "Realistic Synthetic 360°" (Blender) scenes: ``transforms_{train,val,test}.json`` + RGBA PNGs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from .images import check_factor, check_same_size, composite_on_background, downscale, inside_scene, read_image
from .camera_paths import spherical_path
from .scene import Intrinsics, Scene, Views, check_rotations

SPLITS = ("train", "val", "test")
NEAR, FAR = 2.0, 6.0


def read_json(path: Path) -> dict:
    try:
        with open(path, "r", encoding="utf-8") as handle:
            meta = json.load(handle)
    except FileNotFoundError:
        raise InputError(f"{path}: file is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{path}: expected a JSON object at the top level")
    return meta


def check_pose(matrix, path: Path, index: int) -> np.ndarray:
    """A frame's ``transform_matrix`` as a (3, 4) float32 camera-to-world, or a clear error."""
    try:
        pose = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{path}: frame {index}: transform_matrix is not a numeric 4x4 matrix") from None
    if pose.shape != (4, 4):
        raise InputError(f"{path}: frame {index}: transform_matrix has shape {pose.shape}, expected 4x4")
    if not np.all(np.isfinite(pose)):
        raise InputError(f"{path}: frame {index}: transform_matrix has non-finite values")
    check_rotations(pose[None, :3, :3], lambda _: f"{path}: frame {index}")
    return pose[:3].astype(np.float32)


def frame_image_path(root: Path, file_path: str, source: str, allow_outside: bool,
                     suffixes: tuple[str, ...] = (".png",)) -> Path:
    """The image file of a frame's ``file_path``: as given, or with the first of ``suffixes`` that exists when
    it has no image extension (Blender's files list names without ``.png``). Inside the scene folder unless
    ``allow_outside``; the containment check comes before any existence check."""
    candidate = inside_scene(root, file_path, source, allow_outside)
    if candidate.suffix.lower() in (".png", ".jpg", ".jpeg", ".exr") or candidate.exists():
        return candidate
    for suffix in suffixes:
        with_suffix = inside_scene(root, file_path + suffix, source, allow_outside)
        if with_suffix.exists():
            return with_suffix
    return inside_scene(root, file_path + suffixes[0], source, allow_outside)


def read_frames(meta: dict, path: Path, root: Path, skip: int, white: bool, factor: int,
                allow_outside: bool = False):
    """Images (n, H, W, 3), poses (n, 3, 4) and names of the frames listed in one transforms file."""
    frames = meta.get("frames")
    if not isinstance(frames, list) or not frames:
        raise InputError(f"{path}: has no 'frames' list")
    frames = frames[:: max(1, skip)]
    images, poses, names, shapes = [], [], [], {}
    for index, frame in enumerate(frames):
        if not isinstance(frame, dict) or "file_path" not in frame or "transform_matrix" not in frame:
            raise InputError(f"{path}: frame {index} lacks 'file_path' or 'transform_matrix'")
        file_path = frame_image_path(root, str(frame["file_path"]), f"{path}: frame {index}", allow_outside)
        pose = check_pose(frame["transform_matrix"], path, index)
        image = read_image(file_path)
        shapes[file_path] = image.shape
        check_same_size(shapes)
        check_factor(image.shape, factor, file_path, quiet=True)
        images.append(downscale(composite_on_background(image, white), factor))
        poses.append(pose)
        names.append(Path(str(frame["file_path"])).stem)
    return np.stack(images), np.stack(poses), names, shapes


def camera_from_angle(meta: dict, path: Path, width: int, height: int) -> Intrinsics:
    angle = meta.get("camera_angle_x")
    if isinstance(angle, bool) or not isinstance(angle, (int, float)) or not 0 < angle < np.pi:
        raise InputError(f"{path}: 'camera_angle_x' is missing or not an angle in (0, pi)")
    focal = 0.5 * width / np.tan(0.5 * angle)
    return Intrinsics(width=width, height=height, fx=focal, fy=focal, cx=width / 2.0, cy=height / 2.0)


def load_blender(root: Path, factor: int = 1, testskip: int = 1, white_background: bool = True,
                 splits: tuple[str, ...] = SPLITS, allow_outside: bool = False, n_render_frames: int = 40) -> Scene:
    """Load a Blender-format scene.

    Args:
        root: folder with ``transforms_{split}.json``.
        factor: downscale by area averaging (focal and principal point scaled to match).
        testskip: keep every ``testskip``-th frame of the val/test splits (train keeps all, as NeRF does).
        white_background: composite RGBA on white (NeRF's convention) instead of black.
        splits: which splits to load (a missing val/test file is skipped; train is required).
        allow_outside: let image paths lead outside ``root`` (refused by default).
    """
    root = Path(root)
    views: dict[str, Views] = {}
    intrinsics = None
    shape_of_first = None
    for split in splits:
        path = root / f"transforms_{split}.json"
        if split != "train" and not path.exists():
            continue
        meta = read_json(path)
        skip = 1 if split == "train" else testskip
        images, poses, names, shapes = read_frames(meta, path, root, skip, white_background, factor,
                                                   allow_outside)
        first_path, first_shape = next(iter(shapes.items()))
        if shape_of_first is None:
            shape_of_first = (first_path, first_shape)
            check_factor(first_shape, factor, first_path)  # the crop note, once per scene
            intrinsics = camera_from_angle(meta, path, first_shape[1], first_shape[0]).downscaled(factor)
        else:
            check_same_size({shape_of_first[0]: shape_of_first[1], first_path: first_shape})
        views[split] = Views(images=images, c2w=poses, names=names)
    return Scene(
        name=root.name, format="blender", root=root, intrinsics=intrinsics, splits=views,
        near=NEAR, far=FAR, white_background=white_background, ndc=False,
        render_path=spherical_path(n_render_frames), factor=factor,
    )
