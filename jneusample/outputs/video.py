"""Videos of a trained run: camera path → rendered frames → an ``ffmpeg`` encoder.

:func:`render_video` renders colour and depth along the scene's video path (:mod:`jneusample.data.camera_paths`),
along the cameras of a split, along a smooth path through training cameras, or along the cameras of a nerfstudio
``camera_path.json`` (each with its own field of view), and streams the frames to :class:`VideoWriter` (and/or
PNG files).

Frames go to ffmpeg's stdin one at a time, so memory does not grow with the number of frames. The video is
written to a hidden temporary file next to the target and renamed over it only when ffmpeg has finished
successfully: an interrupted or failed render never leaves a half-written video under the requested name.
"""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..platform.fileio import atomic_write_bytes, publish_temporary, temporary_file
from .visuals import png_bytes

INSTALL_HINT = "install it (e.g. `apt-get install ffmpeg`)"
DISK_FULL_TEXT = os.strerror(errno.ENOSPC)
"""How ffmpeg reports a full disk on its stderr ("No space left on device", the C library's text)."""


def find_ffmpeg() -> str | None:
    """Path of the ``ffmpeg`` executable, or None when it is not installed."""
    return shutil.which("ffmpeg")


def require_ffmpeg() -> str:
    """Path of ``ffmpeg``; an :class:`InputError` with the install hint when it is missing."""
    path = find_ffmpeg()
    if path is None:
        raise InputError(f"ffmpeg not found on PATH: {INSTALL_HINT}, or pass --png-dir DIR to write PNG frames")
    return path


def even_pad(frame: np.ndarray) -> np.ndarray:
    """Pad an (H, W, 3) uint8 frame by repeating its last row/column so that H and W are even.

    H.264 with 4:2:0 chroma subsampling needs even dimensions.
    """
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class VideoWriter:
    """An H.264 MP4 written frame by frame through ffmpeg; atomic (temp file + rename on :meth:`close`).

    Use as a context manager: leaving the block normally finishes the video; leaving it with an exception
    stops ffmpeg and deletes the temporary file.

    Args:
        path: the ``.mp4`` to write (replaced atomically if it exists).
        width, height: frame size in pixels (frames must be (height, width, 3) uint8); odd sizes are padded.
        fps: frames per second.
        crf: x264 constant rate factor (lower = better quality, larger file; 18 is visually lossless).
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float = 30.0, crf: int = 18):
        self.path = Path(path)
        self.width, self.height = int(width), int(height)
        self.padded = (self.width + self.width % 2, self.height + self.height % 2)
        self.frames = 0
        ffmpeg = require_ffmpeg()
        self.tmp = temporary_file(self.path, suffix=".partial")  # ffmpeg writes it; close() publishes it
        command = [
            ffmpeg, "-y", "-loglevel", "error", "-nostdin",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{self.padded[0]}x{self.padded[1]}", "-r", f"{fps:g}",
            "-i", "-",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", str(crf), "-movflags", "+faststart",
            "-f", "mp4", str(self.tmp),
        ]
        # stderr goes to a temporary file (not a pipe), so a chatty ffmpeg can never block on a full pipe.
        self._stderr = tempfile.TemporaryFile()
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=self._stderr)

    def write(self, frame: np.ndarray) -> None:
        """Append one (height, width, 3) uint8 frame."""
        frame = np.asarray(frame)
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame of shape {frame.shape} {frame.dtype}, expected "
                             f"({self.height}, {self.width}, 3) uint8")
        try:
            self._process.stdin.write(np.ascontiguousarray(even_pad(frame)).tobytes())
        except BrokenPipeError:
            self._fail("ffmpeg stopped reading frames")
        self.frames += 1

    def close(self) -> Path:
        """Finish the video and move it into place; returns its path."""
        self._process.stdin.close()
        if self._process.wait() != 0:
            self._fail(f"ffmpeg exited with status {self._process.returncode}")
        self._stderr.close()
        publish_temporary(self.tmp, self.path)  # fsync + rename: a full disk is `disk full: PATH`, no torn video
        return self.path

    def abort(self) -> None:
        """Stop ffmpeg and delete the temporary file (the target is left as it was)."""
        if self._process.poll() is None:
            try:
                self._process.stdin.close()
            except OSError:
                pass
            self._process.kill()
            self._process.wait()
        self._stderr.close()
        self.tmp.unlink(missing_ok=True)

    def _fail(self, what: str) -> None:
        self._process.poll()
        self._stderr.seek(0)
        detail = self._stderr.read().decode(errors="replace").strip().splitlines()
        self.abort()
        if any(DISK_FULL_TEXT in line for line in detail):  # ffmpeg's own write of the video ran out of space
            raise InputError(f"disk full: {self.path}")
        raise RuntimeError(f"{self.path}: {what}" + (f": {detail[-1]}" if detail else ""))

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def probe_frames(path: str | os.PathLike) -> int:
    """Number of video frames in ``path`` as ``ffprobe`` counts them (decoding the stream)."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        raise InputError(f"ffprobe not found on PATH: {INSTALL_HINT}")
    result = subprocess.run(
        [ffprobe, "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
         "stream=nb_read_frames", "-of", "default=nokey=1:noprint_wrappers=1", str(path)],
        capture_output=True, text=True, check=True,
    )
    return int(result.stdout.strip())


# --------------------------------------------------------------------------------------------------------------
# Rendering a run along a camera path
# --------------------------------------------------------------------------------------------------------------

PATHS = ("spiral", "test", "interpolate")
"""Camera paths: the scene's video path, the cameras of a split, a smooth path through training cameras."""
CAMERA_PATH = "camera-path"
"""``RenderOptions.path`` when the cameras come from ``RenderOptions.camera_path`` (a nerfstudio file)."""
DEFAULT_FPS = 30.0
"""Frames per second when neither --fps nor a camera path file gives them."""
LAYOUTS = ("side", "separate")
"""side: colour | depth in one video; separate: two videos (the depth one named by :func:`depth_video_path`)."""
DEFAULT_SPIRAL_FRAMES = 120


@dataclass
class RenderOptions:
    path: str = "spiral"
    """'spiral' (the scene's video path), 'test' (the cameras of ``split``), 'interpolate' (through a few
    training cameras), or 'camera-path' (the cameras of ``camera_path``)."""
    frames: int | None = None
    """Spiral or interpolated frames (default 120), or the first N views of the split or of the camera path
    file (default all)."""
    split: str = "test"
    factor: int | None = None
    """Downscale factor: of the scene (default: the run's), or of a camera path file's size (default 1)."""
    data: str | None = None
    fps: float | None = None
    """Frames per second; None: the camera path file's, else 30."""
    layout: str = "side"
    png_dir: Path | None = None
    samples: int | None = None
    """Samples per ray (runs whose model renders at any N); None: the run's N."""
    camera_path: Path | None = None
    """A nerfstudio ``camera_path.json`` (with ``path`` 'camera-path')."""


def check_options(options: RenderOptions, out: Path) -> None:
    """One-line errors for option values, before anything is loaded or rendered (writability is the caller's)."""
    if (options.path == CAMERA_PATH) != (options.camera_path is not None):
        raise InputError("--camera-path FILE and --path are exclusive: give one of them")
    if options.path not in PATHS and options.camera_path is None:
        raise InputError(f"--path {options.path!r}: expected one of {', '.join(PATHS)}")
    if options.layout not in LAYOUTS:
        raise InputError(f"--layout {options.layout!r}: expected one of {', '.join(LAYOUTS)}")
    if options.frames is not None and options.frames < 1:
        raise InputError(f"--frames must be a positive integer, got {options.frames}")
    if options.fps is not None and not options.fps > 0:
        raise InputError(f"--fps must be positive, got {options.fps:g}")
    if Path(out).suffix.lower() != ".mp4":
        raise InputError(f"{out}: the video must be an .mp4 file")
    if Path(out).is_dir():
        raise InputError(f"{out}: is a directory, expected a video file name")
    if options.png_dir is not None and options.png_dir.exists() and not options.png_dir.is_dir():
        raise InputError(f"{options.png_dir}: --png-dir exists and is not a directory")


def load_render_scene(data: str | Path, factor: int, frames: int, allow_outside: bool = False):
    """The scene with its video path built for ``frames`` frames by the format's own loader (Blender: the
    official spherical path generalised to n frames; LLFF and transforms.json: spiral / circle from the poses and
    bounds they normalise, with the defaults training used)."""
    # deferred: the command checks its options with this module before Jittor starts
    from ..data import load_scene

    return load_scene(data, factor=factor, render_frames=frames, allow_outside=allow_outside)


def camera_poses(scene, options: RenderOptions) -> np.ndarray:
    """(n, 3, 4) camera-to-world matrices of the frames (the paths that use the scene's own camera)."""
    # deferred: the command checks its options with this module before Jittor starts
    from ..data.camera_paths import interpolated_path

    if options.path == "test":
        c2w = scene.split(options.split).c2w
        return c2w[: options.frames] if options.frames else c2w
    if options.path == "interpolate":
        return interpolated_path(scene.split("train").c2w, options.frames or DEFAULT_SPIRAL_FRAMES)
    if scene.render_path is None or len(scene.render_path) == 0:
        raise InputError(f"{scene.root}: the scene has no render path; use --path test")
    return scene.render_path


def file_cameras(camera_path, options: RenderOptions) -> tuple[np.ndarray, list]:
    """(n, 3, 4) poses and n :class:`~jneusample.data.scene.Intrinsics` of a camera path file's frames (the first
    ``options.frames``), at its size divided by ``options.factor`` (default 1)."""
    factor = options.factor or 1
    if factor < 1:
        raise InputError(f"--factor must be a positive integer, got {factor}")
    if camera_path.width // factor < 1 or camera_path.height // factor < 1:
        raise InputError(f"--factor {factor} is larger than the size of {options.camera_path} "
                         f"({camera_path.width}x{camera_path.height})")
    count = min(len(camera_path), options.frames or len(camera_path))
    return camera_path.c2w[:count], [camera_path.intrinsics(i, factor) for i in range(count)]


def camera_rays(scene, c2w: np.ndarray, intrinsics, cols=None, rows=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rays of every pixel of a camera with its own ``intrinsics`` (not the scene's), as
    :func:`~jneusample.data.rays.scene_rays` returns them: origins, directions, view_dirs, each (H·W, 3); with
    ``cols``/``rows`` ((R,) pixel indices, fractional allowed) only those R rays (the viewer's picked pixel).

    NDC scenes map the rays with the *scene's* (training) camera: those constants define the space the model was
    trained in, whatever camera looks at it.
    """
    # deferred: the command checks its options with this module before Jittor starts
    from ..data.rays import image_rays, ndc_rays, pixel_rays

    if cols is None:
        origins, directions = image_rays(c2w, intrinsics)
    else:
        origins, directions = pixel_rays(c2w, intrinsics, cols, rows)
    view_dirs = (directions / np.linalg.norm(directions, axis=-1, keepdims=True)).astype(np.float32)
    if scene.ndc:
        origins, directions = ndc_rays(origins, directions, scene.intrinsics, scene.ndc_near_plane)
    return origins, directions, view_dirs


def render_camera(model, scene, c2w: np.ndarray, intrinsics, settings, chunk_points: int) -> dict[str, np.ndarray]:
    """``color`` (H, W, 3), ``depth`` and ``acc`` (H, W) of one frame: the scene's camera when ``intrinsics`` is
    None, else that camera (a camera path file's frame)."""
    # deferred: the command checks its options with this module before Jittor starts
    from ..rendering import render_image, render_rays

    if intrinsics is None:
        return render_image(model, scene, c2w, settings, chunk_points)
    out = render_rays(model, *camera_rays(scene, c2w, intrinsics), settings, chunk_points)
    return {key: array.reshape((intrinsics.height, intrinsics.width) + array.shape[1:]) for key, array in out.items()}


def compose_frame(outputs: dict[str, np.ndarray], near: float, far: float) -> tuple[np.ndarray, np.ndarray]:
    """(colour, depth) as (H, W, 3) uint8 frames; depth is grey (near = white, far and empty = black)."""
    # deferred: the command checks its options with this module before Jittor starts
    from .visuals import depth_to_image, grey_to_rgb, to_uint8

    return to_uint8(outputs["color"]), grey_to_rgb(depth_to_image(outputs["depth"], outputs["acc"], near, far))


def depth_video_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}_depth{out.suffix}")


class FrameSink:
    """Where rank 0 puts the rendered frames, in order: the video(s) (colour and depth side by side, or two
    videos) through ffmpeg, and the PNG frames when ``options.png_dir`` is set."""

    def __init__(self, out: Path, options: RenderOptions, width: int, height: int, fps: float, videos: bool):
        self.options, self.written = options, 0
        self.writers: list[VideoWriter] = []
        if videos:
            out.parent.mkdir(parents=True, exist_ok=True)
            if options.layout == "side":
                self.writers.append(VideoWriter(out, 2 * width, height, fps=fps))
            else:
                self.writers.append(VideoWriter(out, width, height, fps=fps))
                self.writers.append(VideoWriter(depth_video_path(out), width, height, fps=fps))

    def write(self, colour: np.ndarray, depth: np.ndarray) -> None:
        """The next frame: colour and depth images (H, W, 3) uint8."""
        if self.options.png_dir is not None:
            atomic_write_bytes(self.options.png_dir / f"{self.written:04d}_rgb.png", png_bytes(colour))
            atomic_write_bytes(self.options.png_dir / f"{self.written:04d}_depth.png", png_bytes(depth))
        if self.writers and self.options.layout == "side":
            self.writers[0].write(np.concatenate([colour, depth], axis=1))
        elif self.writers:
            self.writers[0].write(colour)
            self.writers[1].write(depth)
        self.written += 1

    def close(self) -> list[str]:
        """Finish the videos (each moved into place atomically); their paths."""
        return [str(writer.close()) for writer in self.writers]

    def abort(self) -> None:
        for writer in self.writers:
            writer.abort()  # harmless for a writer already closed: its temporary file is gone


def render_video(run_dir: str | Path, out: str | Path, options: RenderOptions, checkpoint: str | None = None,
                 progress: bool = True) -> dict:
    """Render the frames and write the video(s); returns a summary (paths, frame count, timing).

    Without ffmpeg, only the PNG frames are written when ``options.png_dir`` is set (with a warning), else a
    one-line :class:`InputError`. Under MPI the frames are rendered round-robin: in each round rank r renders
    frame ``round·size + r``, the frames are gathered, and rank 0 appends them in order, so memory holds at most
    one frame per rank.
    """
    # Jittor here, not at the top: `jneusample render` checks its arguments with this module before Jittor starts
    from ..platform import backend
    from ..platform.distributed import gather_objects
    from ..data.camera_paths import read_camera_path
    from ..rendering import render_settings
    from ..platform.runs import load_run, read_scene_info, scene_folder

    out = Path(out)
    check_options(options, out)
    # Read before the run is loaded: a bad file is a one-line error in a second, not after loading a model.
    camera_path = read_camera_path(options.camera_path) if options.camera_path is not None else None
    fps = options.fps or (camera_path.fps if camera_path is not None else DEFAULT_FPS)
    use_ffmpeg = find_ffmpeg() is not None
    if not use_ffmpeg:
        if options.png_dir is None:
            require_ffmpeg()  # raises the one-line error with the install hint
        print(f"warning: ffmpeg not found (install it with `apt-get install ffmpeg`); writing PNG frames "
              f"only, to {options.png_dir}", file=sys.stderr)
    run = load_run(run_dir, checkpoint, samples=options.samples)
    info = read_scene_info(run.run_dir)
    run_factor = info.factor
    # A camera path file brings its own size (--factor divides it); the scene only gives the geometry then.
    factor = run_factor if camera_path is not None else (options.factor or run_factor)
    scene = load_render_scene(scene_folder(run.run_dir, info, options.data), factor,
                              options.frames or DEFAULT_SPIRAL_FRAMES, allow_outside=info.allow_outside_paths)
    if camera_path is not None:
        poses, intrinsics = file_cameras(camera_path, options)
    else:
        poses, intrinsics = camera_poses(scene, options), []
    settings = render_settings(scene, run.config, training=False)
    camera = intrinsics[0] if intrinsics else scene.intrinsics  # every frame of a file has the file's size
    h, w = camera.height, camera.width
    rank, size = backend.rank(), backend.world_size()
    is_writer = rank == 0

    sink = FrameSink(out, options, w, h, fps, use_ffmpeg and is_writer)
    rounds = range(0, len(poses), size)
    if progress and is_writer:
        from tqdm import tqdm  # only with a progress bar (rank 0)

        rounds = tqdm(rounds, desc=f"render {options.path}", unit="frame" if size == 1 else "round",
                      dynamic_ncols=True, mininterval=0.5 if sys.stderr.isatty() else 30.0)
    start = time.perf_counter()
    try:
        for first in rounds:
            index = first + rank
            mine = None
            if index < len(poses):
                outputs = render_camera(run.model, scene, poses[index], intrinsics[index] if intrinsics else None,
                                        settings, run.config.render.chunk_points)
                mine = compose_frame(outputs, scene.near, scene.far)
            # Every rank takes part in every round (the gather is collective); ranks past the end send None.
            for frame in gather_objects(mine):
                if frame is not None and is_writer:
                    sink.write(*frame)
        paths = sink.close()
    except BaseException:
        sink.abort()
        raise
    seconds = time.perf_counter() - start
    return {
        "run_dir": str(run.run_dir), "checkpoint": str(run.checkpoint_path), "step": run.step,
        "path": options.path, "frames": len(poses), "width": w, "height": h, "fps": fps,
        "camera_path": str(options.camera_path) if options.camera_path is not None else None,
        "layout": options.layout, "video": paths[0] if paths else None,
        "depth_video": paths[1] if len(paths) > 1 else None,
        "png_dir": str(options.png_dir) if options.png_dir is not None else None,
        "sec_per_frame": seconds / max(1, len(poses)), "world_size": size,
    }
