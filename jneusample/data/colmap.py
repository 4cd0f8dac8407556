"""COLMAP sparse models: reading (text and binary) and conversion to the ``transforms.json`` that
``jneusample train`` reads (the ``colmap2nerf`` command is :mod:`jneusample.commands.colmap2nerf`).

Reads ``cameras.txt`` + ``images.txt`` (+ ``points3D.txt`` when present), or their ``.bin`` versions;
:func:`convert` makes one frame per registered image, sorted by name:

- pose: COLMAP stores world-to-camera ``x_cam = R(q)·x_world + t`` with camera axes (x right, y down,
  z forward). Camera-to-world is ``[Rᵀ | −Rᵀt]``; its y and z columns are negated to get the OpenGL/NeRF
  camera (x right, y up, z back). The world frame is COLMAP's, unchanged (the loader normalises it).
- camera: ``fl_x, fl_y, cx, cy, w, h`` copied from COLMAP (whose pixel-edge convention, pixel centres at
  k + 0.5, is the one transforms.json uses); distortion coefficients are written for information only.
- bounds: with 3D points, per image the 0.1 and 99.9 percentiles of the depths of the points it observes;
  ``near`` = 0.9 × the smallest, ``far`` = the largest (as LLFF's ``imgs2poses`` and NeRF's loader do).
"""
from __future__ import annotations

import os
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError

# id: (name, number of parameters); the pinhole-compatible ones list the meaning of their parameters.
CAMERA_MODELS = {
    0: ("SIMPLE_PINHOLE", 3), 1: ("PINHOLE", 4), 2: ("SIMPLE_RADIAL", 4), 3: ("RADIAL", 5), 4: ("OPENCV", 8),
    5: ("OPENCV_FISHEYE", 8), 6: ("FULL_OPENCV", 12), 7: ("FOV", 5), 8: ("SIMPLE_RADIAL_FISHEYE", 4),
    9: ("RADIAL_FISHEYE", 5), 10: ("THIN_PRISM_FISHEYE", 12), 11: ("RAD_TAN_THIN_PRISM_FISHEYE", 16),
}
PARAMETERS = {
    "SIMPLE_PINHOLE": ("f", "cx", "cy"),
    "PINHOLE": ("fx", "fy", "cx", "cy"),
    "SIMPLE_RADIAL": ("f", "cx", "cy", "k1"),
    "RADIAL": ("f", "cx", "cy", "k1", "k2"),
    "OPENCV": ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2"),
    "FULL_OPENCV": ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6"),
}
OPENGL_FROM_COLMAP_CAMERA = np.diag([1.0, -1.0, -1.0])
"""Right-multiplying a camera-to-world rotation by this turns (x right, y down, z forward) into OpenGL axes."""


@dataclass
class Camera:
    id: int
    model: str
    width: int
    height: int
    params: np.ndarray
    """(P,) float64 in COLMAP's order for the model."""


@dataclass
class Image:
    id: int
    qvec: np.ndarray
    """(4,) world-to-camera rotation quaternion (w, x, y, z)."""
    tvec: np.ndarray
    """(3,) world-to-camera translation."""
    camera_id: int
    name: str
    point3d_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """(K,) ids of the 3D points this image observes (unmatched keypoints removed)."""


# --------------------------------------------------------------------------------------------------------------
# Reading models
# --------------------------------------------------------------------------------------------------------------


def _data_lines(path: Path):
    """(line number, text) of the non-comment lines; blank lines are kept (images.txt needs them)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: unreadable ({exc})") from None
    return [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if not line.startswith("#")]


def _model_by_name(name: str, path: Path, where: str) -> str:
    known = {model for model, _ in CAMERA_MODELS.values()}
    if name not in known:
        raise InputError(f"{path}: {where}unknown camera model {name!r}")
    return name


def read_cameras_text(path: Path) -> dict[int, Camera]:
    cameras = {}
    for number, line in _data_lines(path):
        if not line:
            continue
        fields = line.split()
        try:
            cam_id, model, width, height = int(fields[0]), fields[1], int(fields[2]), int(fields[3])
            params = np.array([float(v) for v in fields[4:]], np.float64)
        except (IndexError, ValueError):
            raise InputError(f"{path}: line {number}: expected 'CAMERA_ID MODEL WIDTH HEIGHT PARAMS...'") from None
        model = _model_by_name(model, path, f"line {number}: ")
        expected = next(n for name, n in CAMERA_MODELS.values() if name == model)
        if params.size != expected:
            raise InputError(f"{path}: line {number}: {model} needs {expected} parameters, got {params.size}")
        cameras[cam_id] = Camera(cam_id, model, width, height, params)
    return cameras


def read_images_text(path: Path) -> dict[int, Image]:
    lines = _data_lines(path)
    images = {}
    i = 0
    while i < len(lines):
        number, line = lines[i]
        if not line:
            i += 1
            continue
        fields = line.split(maxsplit=9)
        try:
            image_id = int(fields[0])
            qvec = np.array([float(v) for v in fields[1:5]], np.float64)
            tvec = np.array([float(v) for v in fields[5:8]], np.float64)
            camera_id, name = int(fields[8]), fields[9]
        except (IndexError, ValueError):
            raise InputError(
                f"{path}: line {number}: expected 'IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME'"
            ) from None
        points = lines[i + 1][1].split() if i + 1 < len(lines) else []
        try:
            ids = np.array([int(v) for v in points[2::3]], np.int64)
        except ValueError:
            raise InputError(f"{path}: line {number + 1}: expected 'X Y POINT3D_ID ...' triples") from None
        images[image_id] = Image(image_id, qvec, tvec, camera_id, name, ids[ids >= 0])
        i += 2
    return images


def read_points3d_text(path: Path) -> dict[int, np.ndarray]:
    points = {}
    for number, line in _data_lines(path):
        if not line:
            continue
        fields = line.split()
        try:
            points[int(fields[0])] = np.array([float(v) for v in fields[1:4]], np.float64)
        except (IndexError, ValueError):
            raise InputError(f"{path}: line {number}: expected 'POINT3D_ID X Y Z R G B ERROR TRACK...'") from None
    return points


class _BinaryReader:
    def __init__(self, path: Path):
        self.path = path
        try:
            self.data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: unreadable ({exc})") from None
        self.offset = 0

    def read(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.offset + size > len(self.data):
            raise InputError(f"{self.path}: file ends early (truncated or not a COLMAP binary model)")
        values = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += size
        return values

    def read_string(self) -> str:
        end = self.data.find(b"\x00", self.offset)
        if end < 0:
            raise InputError(f"{self.path}: file ends early (truncated or not a COLMAP binary model)")
        text = self.data[self.offset:end].decode("utf-8", errors="replace")
        self.offset = end + 1
        return text

    def skip(self, size: int):
        if self.offset + size > len(self.data):
            raise InputError(f"{self.path}: file ends early (truncated or not a COLMAP binary model)")
        self.offset += size


def read_cameras_binary(path: Path) -> dict[int, Camera]:
    reader = _BinaryReader(path)
    cameras = {}
    for _ in range(reader.read("<Q")[0]):
        cam_id, model_id, width, height = reader.read("<iiQQ")
        if model_id not in CAMERA_MODELS:
            raise InputError(f"{path}: camera {cam_id}: unknown camera model id {model_id}")
        model, count = CAMERA_MODELS[model_id]
        params = np.array(reader.read(f"<{count}d"), np.float64)
        cameras[cam_id] = Camera(cam_id, model, int(width), int(height), params)
    return cameras


def read_images_binary(path: Path) -> dict[int, Image]:
    reader = _BinaryReader(path)
    images = {}
    for _ in range(reader.read("<Q")[0]):
        values = reader.read("<I7dI")
        image_id, qvec, tvec, camera_id = values[0], values[1:5], values[5:8], values[8]
        name = reader.read_string()
        count = reader.read("<Q")[0]
        start = reader.offset
        reader.skip(24 * count)
        table = np.frombuffer(reader.data, dtype=[("x", "<f8"), ("y", "<f8"), ("id", "<i8")], count=count,
                              offset=start)
        ids = table["id"].astype(np.int64)
        images[image_id] = Image(image_id, np.array(qvec), np.array(tvec), camera_id, name, ids[ids >= 0])
    return images


def read_points3d_binary(path: Path) -> dict[int, np.ndarray]:
    reader = _BinaryReader(path)
    points = {}
    for _ in range(reader.read("<Q")[0]):
        values = reader.read("<Q3d3BdQ")
        points[values[0]] = np.array(values[1:4], np.float64)
        reader.skip(8 * values[8])
    return points


def read_model(folder: Path):
    """(cameras, images, points or None) from a COLMAP sparse model folder, text preferred over binary."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: COLMAP model folder does not exist")
    for ext, readers in ((".txt", (read_cameras_text, read_images_text, read_points3d_text)),
                         (".bin", (read_cameras_binary, read_images_binary, read_points3d_binary))):
        if (folder / f"cameras{ext}").exists() and (folder / f"images{ext}").exists():
            cameras = readers[0](folder / f"cameras{ext}")
            images = readers[1](folder / f"images{ext}")
            points_path = folder / f"points3D{ext}"
            points = readers[2](points_path) if points_path.exists() else None
            return cameras, images, points
    subfolders = sorted(p.name for p in folder.iterdir() if p.is_dir() and (p / "cameras.bin").exists()
                        or p.is_dir() and (p / "cameras.txt").exists())
    hint = f" (a model is in: {', '.join(str(folder / s) for s in subfolders)})" if subfolders else ""
    raise InputError(
        f"{folder}: no COLMAP model: expected cameras.txt and images.txt (or cameras.bin and images.bin){hint}"
    )


# --------------------------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------------------------


def quaternion_to_rotation(qvec: np.ndarray) -> np.ndarray:
    """(3, 3) rotation of a unit quaternion (w, x, y, z) (normalised first), Hamilton convention as COLMAP."""
    w, x, y, z = np.asarray(qvec, np.float64) / np.linalg.norm(qvec)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def colmap_to_c2w(qvec: np.ndarray, tvec: np.ndarray) -> np.ndarray:
    """(4, 4) OpenGL camera-to-world of a COLMAP image (world-to-camera quaternion ``qvec``, translation ``tvec``)."""
    rot = quaternion_to_rotation(qvec)
    c2w = np.eye(4)
    c2w[:3, :3] = rot.T @ OPENGL_FROM_COLMAP_CAMERA
    c2w[:3, 3] = -rot.T @ np.asarray(tvec, np.float64)
    return c2w


def camera_keys(camera: Camera, source: Path) -> dict:
    """transforms.json camera keys (fl_x, fl_y, cx, cy, w, h and any distortion) of a COLMAP camera."""
    if camera.model not in PARAMETERS:
        raise InputError(
            f"{source}: camera {camera.id} uses the {camera.model} model, which is not a pinhole model; run "
            "'colmap image_undistorter' and convert its sparse model instead"
        )
    values = dict(zip(PARAMETERS[camera.model], camera.params.tolist()))
    if "f" in values:
        values["fx"] = values["fy"] = values.pop("f")
    keys = {"camera_model": "OPENCV" if len(values) > 4 else "PINHOLE",
            "fl_x": values.pop("fx"), "fl_y": values.pop("fy"), "cx": values.pop("cx"), "cy": values.pop("cy"),
            "w": camera.width, "h": camera.height}
    keys.update(values)
    return keys


def distortion_pixels(keys: dict) -> float:
    """How far (pixels) radial distortion moves an image corner: a rough size of what ignoring it costs."""
    x = 0.5 * keys["w"] / keys["fl_x"]
    y = 0.5 * keys["h"] / keys["fl_y"]
    r2 = x * x + y * y
    radial = keys.get("k1", 0.0) * r2 + keys.get("k2", 0.0) * r2 * r2 + keys.get("k3", 0.0) * r2 ** 3
    tangential = 2 * abs(keys.get("p1", 0.0)) * x * y + abs(keys.get("p2", 0.0)) * (r2 + 2 * x * x)
    return float((abs(radial) * np.sqrt(r2) + tangential) * keys["fl_x"])


def depth_bounds(images: list[Image], points: dict[int, np.ndarray]) -> tuple[float, float] | None:
    """(near, far) from the depths of the 3D points each image sees; None without usable points."""
    closes, fars = [], []
    for image in images:
        xyz = np.array([points[i] for i in image.point3d_ids.tolist() if i in points]).reshape(-1, 3)
        if xyz.size == 0:
            continue
        depth = xyz @ quaternion_to_rotation(image.qvec)[2] + image.tvec[2]
        depth = depth[depth > 0]
        if depth.size:
            closes.append(np.percentile(depth, 0.1))
            fars.append(np.percentile(depth, 99.9))
    if not closes:
        return None
    near, far = 0.9 * float(min(closes)), float(max(fars))
    return (near, far) if far > near > 0 else None


def convert(colmap_dir: Path, images_dir: Path, out: Path, ndc: bool = False, log=None) -> dict:
    """Build the transforms.json content for a COLMAP model, with image paths relative to ``out``'s folder.

    Warnings go to ``log`` (default: standard error).
    """
    log = sys.stderr if log is None else log
    cameras, images, points = read_model(colmap_dir)
    if not images:
        raise InputError(f"{colmap_dir}: the COLMAP model has no registered images")
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise InputError(f"{images_dir}: image folder does not exist")
    ordered = sorted(images.values(), key=lambda im: im.name)
    used = sorted({im.camera_id for im in ordered})
    for cam_id in used:
        if cam_id not in cameras:
            raise InputError(f"{colmap_dir}: an image uses camera {cam_id}, which the cameras file does not define")
    all_keys = [camera_keys(cameras[c], colmap_dir) for c in used]
    meta = dict(all_keys[0])
    numeric = ("fl_x", "fl_y", "cx", "cy", "w", "h")
    if len(all_keys) > 1:
        table = np.array([[k[n] for n in numeric] for k in all_keys], np.float64)
        if np.any(np.abs(table - table[0]) > 0.01 * np.abs(table[0]) + 1e-9):
            raise InputError(
                f"{colmap_dir}: the images use {len(used)} different cameras; JNeuSample needs one shared camera "
                "(run colmap feature_extractor with --ImageReader.single_camera 1)"
            )
        for i, name in enumerate(numeric[:4]):
            meta[name] = float(table[:, i].mean())
        print(f"warning: {len(used)} COLMAP cameras agree within 1%; using their mean", file=log)
    shift = distortion_pixels(meta)
    if shift > 1.0:
        print(
            f"warning: lens distortion moves image corners by about {shift:.1f} px and will be ignored; for "
            "better results run 'colmap image_undistorter' and convert its model", file=log,
        )
    if points:
        bounds = depth_bounds(ordered, points)
        if bounds is not None:
            meta["near"], meta["far"] = bounds
    if ndc:
        meta["ndc"] = True
    out_dir = Path(out).resolve().parent
    frames = []
    for image in ordered:
        image_path = images_dir / image.name
        if not image_path.is_file():
            raise InputError(f"{image_path}: image registered in the COLMAP model is missing")
        rel = Path(os.path.relpath(image_path.resolve(), out_dir)).as_posix()
        frames.append({"file_path": rel, "transform_matrix": colmap_to_c2w(image.qvec, image.tvec).tolist(),
                       "colmap_image_id": image.id})
    meta["frames"] = frames
    meta["generator"] = "jneusample colmap2nerf"
    return meta


__all__ = ["Camera", "Image", "camera_keys", "colmap_to_c2w", "convert", "depth_bounds", "distortion_pixels",
           "quaternion_to_rotation", "read_model"]
