"""Photos or a video → a trainable scene folder with COLMAP camera poses (``jneusample process``).

The pipeline, all on the CPU and offline through pycolmap (COLMAP's own library, a PyPI wheel):

1. input: the images of a folder (sorted by name), or frames of a video extracted by ffmpeg at ``fps``;
   every image is opened once first, so an unreadable file is a one-line error naming it;
2. SIFT features, one shared camera (``camera_model``, OPENCV by default: focal lengths, principal point and
   k1, k2, p1, p2), in chunks so the progress line can count images;
3. matching: exhaustive (every pair; small photo sets) or sequential (each frame with its next ones; videos);
4. incremental mapping; the largest model is kept, and too few registered images are a one-line error;
5. undistortion to pinhole images (``SCENE/images/``);
6. ``transforms.json`` by :func:`jneusample.data.colmap.convert` (the ``colmap2nerf`` conversion: OpenGL camera
   axes, near/far from the 3D points), then centred and scaled (:func:`normalise_world`), the distortion that
   was removed recorded, and ``ndc`` set for forward-facing captures (:func:`forward_facing`).

The output folder is written completely or not at all (:func:`jneusample.platform.fileio.staged_folder`)::

    SCENE/transforms.json        cameras (OpenGL camera-to-world), pinhole intrinsics, near/far, ndc
    SCENE/images/                the undistorted images transforms.json names
    SCENE/colmap/database.db     features and matches
    SCENE/colmap/sparse/         the model with lens distortion (binary; its image names are the input's)
    SCENE/colmap/undistorted/    the pinhole model of SCENE/images (binary; 'colmap2nerf' reads it)
    SCENE/frames/                the extracted video frames (video input only)

pycolmap is imported only inside :func:`run_colmap` and its helpers: it is a large native library that the other
commands never need, and importing it costs start-up time.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

import numpy as np

from .. import environment
from ..errors import InputError
from ..platform.fileio import staged_folder, write_json

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
"""Files of an --images folder that are read as photos (case-insensitive)."""
MIN_IMAGES = 3
"""Fewest images structure from motion can work with (two make one pair, a third checks it)."""
MATCHERS = ("exhaustive", "sequential")
CAMERA_MODELS = ("OPENCV", "SIMPLE_RADIAL", "RADIAL", "PINHOLE", "SIMPLE_PINHOLE")
"""COLMAP camera models offered (the pinhole-compatible ones the conversion understands)."""
TARGET_CAMERA_DISTANCE = 4.0
"""Mean camera distance to the scene centre in the written world (NeRF's Blender camera radius, as the
transforms.json loader's own normalisation)."""
OBJECT_CENTRIC_SPREAD = 0.05
"""Above this spread of viewing directions (the loader's criterion, ≈ a 50° arc) a capture is object-centric."""
FEATURE_CHUNKS = 20
"""Feature extraction runs in about this many calls, so the progress line can count images."""


@dataclass
class ProcessOptions:
    """How to turn photos or a video into a scene (the ``process`` command's options)."""

    matcher: str = "exhaustive"
    """'exhaustive' (every pair: best for up to a few hundred photos) or 'sequential' (video frames)."""
    camera_model: str = "OPENCV"
    """COLMAP camera model shared by all images (one of :data:`CAMERA_MODELS`)."""
    max_image_size: int = 1600
    """Longest side (pixels) SIFT sees; larger images are downscaled for features only."""
    min_registered: float = 0.5
    """Fewest registered images, as a share of the input, below which the scene is refused."""
    ndc: bool | None = None
    """Mark the scene forward-facing (NDC rays); None: decided from the cameras (:func:`forward_facing`)."""
    fps: float = 2.0
    """Frames per second taken from a video."""
    seed: int = 0
    """COLMAP's random seed (RANSAC, initial pair), so a run can be repeated."""
    sequential_overlap: int = 10
    """Sequential matching: each frame is matched with this many following frames."""


# --------------------------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------------------------


class StageProgress:
    """One line per pipeline stage on stderr: ``process [2/5] matching 190 pairs (exhaustive) 0:06``.

    A stage shows what is known and nothing invented: counted work (images with features, registered images) as
    ``k/n``, otherwise only the elapsed time. On a terminal the line is redrawn in place every 0.5 s (a thread
    keeps the clock moving while COLMAP works); in a log a line is written at the start, every 30 s, and at the
    end of each stage with its duration.
    """

    def __init__(self, stages: int, stream: TextIO | None = None, enabled: bool = True,
                 interval: float | None = None):
        self.stages, self.index = stages, 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if interval is not None else (0.5 if self.tty else 30.0)
        self.label, self.counter, self.started = "", "", 0.0
        self.width = 0
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def _text(self, done: bool = False) -> str:
        elapsed = time.monotonic() - self.started
        clock = f"done in {elapsed:.1f} s" if done else f"{int(elapsed) // 60}:{int(elapsed) % 60:02d}"
        counter = f" {self.counter}," if self.counter and done else (f" {self.counter}" if self.counter else "")
        return f"process [{self.index}/{self.stages}] {self.label}{counter} {clock}"

    def _write(self, text: str, final: bool = False) -> None:
        if not self.enabled:
            return
        with self._lock:
            if self.tty:
                self.stream.write("\r" + text.ljust(self.width) + ("\n" if final else ""))
                self.width = 0 if final else len(text)
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            self._write(self._text())

    def start(self, label: str) -> None:
        """Begin the next stage, named ``label``."""
        self.finish()
        self.index += 1
        self.label, self.counter, self.started = label, "", time.monotonic()
        self._write(self._text())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, args=(self._stop,), daemon=True)
        self._thread.start()

    def count(self, done: int, total: int | None = None, unit: str = "") -> None:
        """Report counted work of the current stage: ``done/total unit`` (redrawn at once on a terminal)."""
        self.counter = f"{done}/{total} {unit}".rstrip() if total is not None else f"{done} {unit}".rstrip()
        if self.tty:
            self._write(self._text())

    def finish(self, failed: bool = False) -> None:
        """End the current stage (if any) with its duration, or with 'failed'."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self._write(self._text(done=not failed) + (" failed" if failed else ""), final=True)


# --------------------------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------------------------


def list_images(folder: Path) -> list[Path]:
    """The photos directly in ``folder`` (by :data:`IMAGE_SUFFIXES`), sorted by name; InputError when none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"--images {folder}: folder does not exist")
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise InputError(f"--images {folder}: no images (looked for {', '.join(IMAGE_SUFFIXES)})")
    return paths


def check_images(paths: list[Path]) -> tuple[int, int]:
    """Open every image once; the shared (width, height). InputError naming an unreadable image, a size that
    differs from the first image's (one camera needs one size), or fewer than :data:`MIN_IMAGES` images."""
    # deferred: pycolmap, PIL and COLMAP I/O load only when photos are processed
    from PIL import Image, UnidentifiedImageError

    if len(paths) < MIN_IMAGES:
        raise InputError(f"{paths[0].parent if paths else 'input'}: {len(paths)} image(s); structure from "
                         f"motion needs at least {MIN_IMAGES} overlapping photos")
    size = None
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()  # decode fully: a truncated file fails here, not inside COLMAP
                this = image.size
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise InputError(f"{path}: unreadable image ({exc})") from None
        if size is None:
            size = this
        elif this != size:
            raise InputError(f"{path}: {this[0]}x{this[1]} pixels, but {paths[0].name} is {size[0]}x{size[1]}; "
                             "all photos must have one size (one camera)")
    return size


def extract_frames(video: Path, dest: Path, fps: float) -> list[Path]:
    """Frames of ``video`` at ``fps`` frames per second as ``dest/frame_00001.jpg``, … (ffmpeg, high quality).

    Returns the frame paths in order. InputError when the video is missing, ffmpeg is not installed or fails
    (its last error line is quoted), or no frame comes out.
    """
    video = Path(video)
    if not video.is_file():
        raise InputError(f"--video {video}: file does not exist")
    if not (fps > 0 and math.isfinite(fps)):
        raise InputError(f"--fps must be a positive number, got {fps}")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise InputError("--video needs ffmpeg, which is not installed (Debian: apt-get install ffmpeg)")
    dest.mkdir(parents=True, exist_ok=True)
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(video), "-vf", f"fps={fps:g}",
               "-qscale:v", "2", str(dest / "frame_%05d.jpg")]
    result = subprocess.run(command, capture_output=True, text=True)
    frames = sorted(dest.glob("frame_*.jpg"))
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {result.returncode}"
        raise InputError(f"--video {video}: ffmpeg could not extract frames ({reason})")
    if not frames:
        raise InputError(f"--video {video}: ffmpeg extracted no frames (an empty or very short video?)")
    return frames


# --------------------------------------------------------------------------------------------------------------
# COLMAP
# --------------------------------------------------------------------------------------------------------------


def _pycolmap():
    """Import pycolmap (only here: a large native library the other commands never load) with its logging
    off unless JNEUSAMPLE_VERBOSE=1; InputError with the install command when it is missing."""
    try:
        # deferred: pycolmap, PIL and COLMAP I/O load only when photos are processed
        import pycolmap
    except ImportError:
        raise InputError("jneusample process needs pycolmap, which is not installed "
                         "(pip install pycolmap==4.2.1, or pip install -e . in the repository)") from None
    if not environment.verbose():
        # Fatal only: COLMAP logs every image and bundle adjustment, and its errors ("Failed to create any sparse
        # model") would precede our one-line error, which says the same with what to try.
        pycolmap.logging.minloglevel = 3
    return pycolmap


@dataclass
class ColmapResult:
    """What the structure-from-motion stages produced."""

    reconstruction: Any
    """The largest pycolmap.Reconstruction (None when nothing registered)."""
    registered: int
    """Images in it."""
    total: int
    """Input images."""
    models: int
    """How many separate models COLMAP made (more than one: the images split into groups that do not overlap)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage: features, matching, mapping."""


def run_colmap(image_dir: Path, names: list[str], work: Path, options: ProcessOptions,
               progress: StageProgress) -> ColmapResult:
    """Features, matches and incremental mapping of ``names`` (in ``image_dir``) with ``work/database.db``.

    Writes every model COLMAP makes under ``work/mapping/<k>/``; returns the largest.
    """
    pycolmap = _pycolmap()
    pycolmap.set_random_seed(options.seed)
    device = pycolmap.Device.cpu  # the CPU SIFT and matcher: no GPU needed, and the same results everywhere
    database = work / "database.db"
    timings = {}

    progress.start(f"SIFT features ({options.camera_model} camera)")
    began = time.monotonic()
    extraction = pycolmap.FeatureExtractionOptions()
    extraction.max_image_size = options.max_image_size
    chunk = max(1, math.ceil(len(names) / FEATURE_CHUNKS))
    progress.count(0, len(names), "images")
    for first in range(0, len(names), chunk):
        reader = pycolmap.ImageReaderOptions(camera_model=options.camera_model)
        if first:
            reader.existing_camera_id = 1  # later chunks share the camera the first chunk made
        pycolmap.extract_features(database, image_dir, image_names=names[first:first + chunk],
                                  camera_mode=pycolmap.CameraMode.SINGLE, reader_options=reader,
                                  extraction_options=extraction, device=device)
        progress.count(min(first + chunk, len(names)), len(names), "images")
    timings["features"] = time.monotonic() - began

    n = len(names)
    progress.start(f"matching ({options.matcher}, {image_pairs(n, options)} image pairs)")
    began = time.monotonic()
    if options.matcher == "exhaustive":
        pycolmap.match_exhaustive(database, device=device)
    else:
        pairing = pycolmap.SequentialPairingOptions()
        pairing.overlap = options.sequential_overlap
        pycolmap.match_sequential(database, pairing_options=pairing, device=device)
    timings["matching"] = time.monotonic() - began

    progress.start("incremental mapping")
    began = time.monotonic()
    mapping = work / "mapping"
    mapping.mkdir(parents=True, exist_ok=True)
    pipeline = pycolmap.IncrementalPipelineOptions()
    pipeline.random_seed = options.seed
    registered = [0]

    def next_image() -> None:
        registered[0] += 1
        progress.count(registered[0], n, "images registered")

    def initial_pair() -> None:
        registered[0] = 2  # the initial pair is registered together; later images one at a time
        progress.count(2, n, "images registered")

    models = pycolmap.incremental_mapping(database, image_dir, mapping, options=pipeline,
                                          initial_image_pair_callback=initial_pair, next_image_callback=next_image)
    timings["mapping"] = time.monotonic() - began
    if not models:
        return ColmapResult(None, 0, n, 0, timings)
    best = max(models.values(), key=lambda r: r.num_reg_images())
    progress.count(best.num_reg_images(), n, "images registered")
    return ColmapResult(best, int(best.num_reg_images()), n, len(models), timings)


def image_pairs(n: int, options: ProcessOptions) -> int:
    """How many image pairs the matcher compares among ``n`` images: all n(n−1)/2 for exhaustive; for
    sequential (COLMAP's quadratic overlap) each image with the ones 1, 2, …, overlap and 2^k (k < overlap)
    places after it."""
    if options.matcher == "exhaustive":
        return n * (n - 1) // 2
    offsets = set(range(1, options.sequential_overlap + 1)) | {2 ** k for k in range(options.sequential_overlap)}
    return sum(max(0, n - d) for d in offsets)


def too_few_registered(result: ColmapResult, source: str, options: ProcessOptions, video: bool) -> str | None:
    """The one-line error when the largest model holds too few images (None when enough)."""
    needed = max(MIN_IMAGES, math.ceil(options.min_registered * result.total))
    if result.registered >= needed:
        return None
    tips = ["photos with more overlap and texture (no blur, nothing moving)"]
    if options.matcher != "exhaustive":
        tips.append("--matcher exhaustive")
    if video:
        tips.append(f"a higher --fps than {options.fps:g}")
    tips.append("--camera-model SIMPLE_RADIAL" if options.camera_model != "SIMPLE_RADIAL"
                else "--camera-model OPENCV")
    split = f" (COLMAP split them into {result.models} separate models)" if result.models > 1 else ""
    return (f"registered {result.registered} of {result.total} images in {source}{split}, fewer than the "
            f"{needed} needed (--min-registered {options.min_registered:g}); try {', '.join(tips)}")


def undistort(sparse: Path, image_dir: Path, out: Path) -> None:
    """Undistort the model in ``sparse`` and its images to ``out/images`` + ``out/sparse`` (pinhole)."""
    pycolmap = _pycolmap()
    pycolmap.undistort_images(out, sparse, image_dir)


# --------------------------------------------------------------------------------------------------------------
# The scene's world
# --------------------------------------------------------------------------------------------------------------


def scene_centre(points: np.ndarray | None, camera_centres: np.ndarray) -> np.ndarray:
    """(3,) the scene centre: the median (per axis) of COLMAP's 3D points, robust to stray far points; the mean
    camera centre when there are no points. ``points``: (m, 3) or None; ``camera_centres``: (n, 3)."""
    if points is not None and len(points):
        return np.median(np.asarray(points, np.float64), axis=0)
    return np.asarray(camera_centres, np.float64).mean(axis=0)


def normalise_world(c2w: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, float]:
    """Move ``centre`` to the origin and scale so the mean camera distance to it is
    :data:`TARGET_CAMERA_DISTANCE`.

    Args:
        c2w: (n, 4, 4) camera-to-world poses (rotations are unchanged: a uniform scale and a translation).
        centre: (3,) the point that becomes the origin.
    Returns:
        (the (n, 4, 4) new poses, the scale s): x_new = s · (x_old − centre); depths scale by s too.
    """
    c2w = np.array(c2w, np.float64)
    distance = float(np.linalg.norm(c2w[:, :3, 3] - centre, axis=1).mean())
    scale = TARGET_CAMERA_DISTANCE / distance if distance > 1e-12 else 1.0
    c2w[:, :3, 3] = (c2w[:, :3, 3] - centre) * scale
    return c2w, scale


def forward_facing(c2w: np.ndarray) -> bool:
    """Whether the cameras form a forward-facing capture (NDC rays suit it): their optical axes do not converge
    from directions spread over more than about 50° (the transforms.json loader's object-centric test), and none
    looks away from their mean viewing direction (which NDC could not represent). ``c2w``: (n, 4, 4) OpenGL."""
    # deferred: pycolmap, PIL and COLMAP I/O load only when photos are processed
    from .transforms import estimate_centre

    centre, spread = estimate_centre(c2w[:, :3, :4])
    if centre is not None and spread >= OBJECT_CENTRIC_SPREAD:
        return False
    forward = -c2w[:, :3, 2] / np.linalg.norm(c2w[:, :3, 2], axis=1, keepdims=True)
    mean = forward.sum(axis=0)
    return bool(np.linalg.norm(mean) > 0 and np.all(forward @ (mean / np.linalg.norm(mean)) > 0))


def scene_meta(undistorted: Path, image_dir: Path, out_file: Path, original_camera: dict,
               ndc: bool | None) -> dict:
    """transforms.json content for the undistorted model in ``undistorted`` (images in ``image_dir``), written
    later as ``out_file``: the ``colmap2nerf`` conversion, then centred and scaled, ndc decided, the removed
    distortion recorded as ``distortion_removed`` (the camera COLMAP estimated for the original photos)."""
    # deferred: pycolmap, PIL and COLMAP I/O load only when photos are processed
    from .colmap import convert, read_model

    quiet = open(os.devnull, "w")  # the undistorted model has no distortion to warn about
    try:
        meta = convert(undistorted, image_dir, out_file, log=quiet)
    finally:
        quiet.close()
    _, _, points = read_model(undistorted)
    c2w = np.array([frame["transform_matrix"] for frame in meta["frames"]], np.float64)
    xyz = np.array(list(points.values()), np.float64).reshape(-1, 3) if points else None
    centre = scene_centre(xyz, c2w[:, :3, 3])
    c2w, scale = normalise_world(c2w, centre)
    for frame, pose in zip(meta["frames"], c2w):
        frame["transform_matrix"] = pose.tolist()
    if "near" in meta:
        meta["near"], meta["far"] = meta["near"] * scale, meta["far"] * scale
    meta["ndc"] = forward_facing(c2w) if ndc is None else bool(ndc)
    meta["distortion_removed"] = original_camera
    meta["world_from_colmap"] = {"scale": scale, "centre": centre.tolist(),
                                 "meaning": "x_world = scale * (x_colmap - centre)"}
    meta["generator"] = "jneusample process"
    return meta


# --------------------------------------------------------------------------------------------------------------
# The whole pipeline
# --------------------------------------------------------------------------------------------------------------


def check_output(out: Path) -> None:
    """Refuse an ``--out`` that is a file or a folder with something in it (a scene is never overwritten)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"--out {out}: already exists and is not empty; choose a new folder or delete it")


def process(out: Path, images: Path | None = None, video: Path | None = None,
            options: ProcessOptions | None = None, progress: bool = True,
            stream: TextIO | None = None) -> dict[str, Any]:
    """Run the pipeline (module docstring) from ``images`` (a folder) or ``video`` (a file) into ``out``.

    Returns a summary: registered/total images, the camera, near/far, ndc, seconds per stage. Nothing is left
    in ``out`` when a stage fails.
    """
    options = options or ProcessOptions()
    if (images is None) == (video is None):
        raise InputError("give exactly one of --images DIR and --video FILE")
    if options.matcher not in MATCHERS:
        raise InputError(f"--matcher must be one of {', '.join(MATCHERS)}, got {options.matcher!r}")
    if options.camera_model not in CAMERA_MODELS:
        raise InputError(f"--camera-model must be one of {', '.join(CAMERA_MODELS)}, got {options.camera_model!r}")
    if not 0.0 <= options.min_registered <= 1.0:
        raise InputError(f"--min-registered must be a share between 0 and 1, got {options.min_registered:g}")
    if options.max_image_size < 16:
        raise InputError(f"--max-image-size must be at least 16 pixels, got {options.max_image_size}")
    out = Path(out)
    check_output(out)
    if images is not None:
        list_images(images)  # a missing or empty folder fails before pycolmap loads
    _pycolmap()  # a missing pycolmap fails before any work
    began = time.monotonic()
    stages = StageProgress(6 if video is not None else 5, stream=stream, enabled=progress)
    # deferred: pycolmap, PIL and COLMAP I/O load only when photos are processed
    from .colmap import camera_keys, read_model

    try:
        with staged_folder(out) as staging:
            if video is not None:
                stages.start(f"extracting frames at {options.fps:g} fps")
                paths = extract_frames(Path(video), staging / "frames", options.fps)
                stages.count(len(paths), unit="frames")
                image_dir, source = staging / "frames", f"--video {video}"
            else:
                paths = list_images(images)
                image_dir, source = Path(images), f"--images {images}"
            width, height = check_images(paths)
            work = staging / "colmap"
            work.mkdir()
            result = run_colmap(image_dir, [p.name for p in paths], work, options, stages)
            message = too_few_registered(result, source, options, video is not None)
            if message:
                raise InputError(message)

            stages.start("undistorting images")
            sparse = work / "sparse"
            sparse.mkdir()
            result.reconstruction.write(str(sparse))
            shutil.rmtree(work / "mapping")  # the kept model is colmap/sparse; the others were smaller
            undistorted = staging / ".undistorted"
            undistort(sparse, image_dir, undistorted)
            os.replace(undistorted / "images", staging / "images")
            os.replace(undistorted / "sparse", work / "undistorted")
            shutil.rmtree(undistorted)  # COLMAP's stereo workspace and scripts: not needed for training

            stages.start("writing transforms.json")
            cameras, _, _ = read_model(sparse)
            original = camera_keys(next(iter(cameras.values())), sparse)
            meta = scene_meta(work / "undistorted", staging / "images", staging / "transforms.json", original,
                              options.ndc)
            write_json(staging / "transforms.json", meta)
            stages.finish()
    except BaseException:
        stages.finish(failed=True)
        raise
    registered_names = {frame["file_path"].split("/")[-1] for frame in meta["frames"]}
    return {"out": str(out), "registered": result.registered, "total": result.total, "models": result.models,
            "not_registered": [p.name for p in paths if p.name not in registered_names],
            "input_size": [width, height], "camera": {k: meta[k] for k in ("fl_x", "fl_y", "cx", "cy", "w", "h")},
            "distortion_removed": original, "near": meta.get("near"), "far": meta.get("far"),
            "ndc": meta["ndc"], "seconds": {**result.timings, "total": time.monotonic() - began}}


__all__ = ["CAMERA_MODELS", "MATCHERS", "ProcessOptions", "StageProgress", "check_images", "extract_frames",
           "forward_facing", "image_pairs", "list_images", "normalise_world", "process", "run_colmap", "scene_centre",
           "too_few_registered"]
