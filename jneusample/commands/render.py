"""``jneusample render``: a video of colour and depth along the scene's render path or its test cameras."""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

PATHS = ("spiral", "test")
LAYOUTS = ("side", "separate")


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "render", help="render a video of a trained run", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Render colour and depth along the scene's video path (spiral: the spherical path around "
                    "a Blender object, NeRF's spiral for forward-facing scenes, a circle for transforms.json "
                    "object scenes) or along the cameras of a split (--path test), and write an H.264 MP4 "
                    "with ffmpeg. Frames are streamed to ffmpeg (memory does not grow with --frames) and the "
                    "video appears under its name only once it is complete.")
    parser.add_argument("--run", required=True, help="run directory made by `jneusample train` or `extract`")
    parser.add_argument("--path", default="spiral", help="camera path: spiral | test")
    parser.add_argument("--frames", type=int, default=None,
                        help="frames of the spiral path (default 120); with --path test, the first N views "
                             "of the split (default: all)")
    parser.add_argument("--split", default="test", help="split whose cameras --path test follows")
    parser.add_argument("--factor", type=int, default=None, help="downscale factor (default: the run's)")
    parser.add_argument("--data", default=None, help="scene folder (default: the one the run was trained on)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint file (default: the run's latest)")
    parser.add_argument("--fps", type=float, default=30.0, help="frames per second of the video")
    parser.add_argument("--out", default=None, help="video file, .mp4 (default: RUN_DIR/render_<path>.mp4)")
    parser.add_argument("--layout", default="side",
                        help="side: colour and depth side by side in one video; separate: FILE.mp4 (colour) "
                             "and FILE_depth.mp4")
    parser.add_argument("--png-dir", default=None,
                        help="also write every frame as NNNN_rgb.png / NNNN_depth.png here (without ffmpeg: "
                             "only these)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


@dataclass
class RenderOptions:
    path: str = "spiral"
    """'spiral' (the scene's video path) or 'test' (the cameras of ``split``)."""
    frames: int | None = None
    """Spiral frames (default 120) or the first N views of the split (default all)."""
    split: str = "test"
    factor: int | None = None
    data: str | None = None
    fps: float = 30.0
    layout: str = "side"
    png_dir: Path | None = None


DEFAULT_SPIRAL_FRAMES = 120


def check_options(options: RenderOptions, out: Path) -> None:
    """One-line errors for option values, before anything is loaded or rendered."""
    from .common import check_writable_dir

    if options.path not in PATHS:
        raise InputError(f"--path {options.path!r}: expected one of {', '.join(PATHS)}")
    if options.layout not in LAYOUTS:
        raise InputError(f"--layout {options.layout!r}: expected one of {', '.join(LAYOUTS)}")
    if options.frames is not None and options.frames < 1:
        raise InputError(f"--frames must be a positive integer, got {options.frames}")
    if not options.fps > 0:
        raise InputError(f"--fps must be positive, got {options.fps:g}")
    if out.suffix.lower() != ".mp4":
        raise InputError(f"{out}: the video must be an .mp4 file")
    if out.is_dir():
        raise InputError(f"{out}: is a directory, expected a video file name")
    check_writable_dir(out.parent)
    probe_writable(out.parent, out)
    if options.png_dir is not None:
        if options.png_dir.exists() and not options.png_dir.is_dir():
            raise InputError(f"{options.png_dir}: --png-dir exists and is not a directory")
        check_writable_dir(options.png_dir)
        probe_writable(options.png_dir, options.png_dir)


def probe_writable(folder: Path, shown: Path) -> None:
    """Create ``folder`` and a scratch file in it, so that a bad output path fails before any rendering.

    ``os.access`` alone is not enough: root passes it everywhere, even on read-only mounts and in /proc.
    """
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise InputError(f"{shown}: output location is not writable ({exc.strerror or exc})") from None


def load_render_scene(data: str | Path, factor: int, frames: int):
    """The scene with its video path regenerated for ``frames`` frames.

    Blender scenes get :func:`~jneusample.data.rays.spherical_path` (the official 40-pose path generalised to
    n frames); LLFF and transforms.json loaders build their path (spiral / circle) from the poses and bounds
    they normalise, so they are asked for ``frames`` frames directly, with the same defaults as
    :func:`~jneusample.data.load_scene` (which is what training used).
    """
    from dataclasses import replace

    from ..data import detect_format, load_scene
    from ..data.rays import spherical_path

    fmt = detect_format(Path(data))
    if fmt == "llff":
        from ..data.llff import load_llff

        print(f"data: {data} (llff format)", file=sys.stderr)
        return load_llff(Path(data), factor=factor, n_render_frames=frames)
    if fmt == "transforms":
        from ..data.transforms import load_transforms

        print(f"data: {data} (transforms format)", file=sys.stderr)
        return load_transforms(Path(data), factor=factor, n_render_frames=frames)
    scene = load_scene(data, factor=factor)
    return replace(scene, render_path=spherical_path(frames))


def camera_poses(scene, options: RenderOptions) -> np.ndarray:
    """(n, 3, 4) camera-to-world matrices of the frames."""
    if options.path == "test":
        c2w = scene.split(options.split).c2w
        return c2w[: options.frames] if options.frames else c2w
    if scene.render_path is None or len(scene.render_path) == 0:
        raise InputError(f"{scene.root}: the scene has no render path; use --path test")
    return scene.render_path


def compose_frame(outputs: dict[str, np.ndarray], near: float, far: float) -> tuple[np.ndarray, np.ndarray]:
    """(colour, depth) as (H, W, 3) uint8 frames; depth is grey (near = white, far and empty = black)."""
    from ..evaluate import depth_to_image, to_uint8

    colour = to_uint8(outputs["color"])
    depth = depth_to_image(outputs["depth"], outputs["acc"], near, far)
    return colour, np.repeat(depth[..., None], 3, axis=-1)


def depth_video_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}_depth{out.suffix}")


def render_video(run_dir: str | Path, out: str | Path, options: RenderOptions, checkpoint: str | None = None,
                 progress: bool = True) -> dict:
    """Render the frames and write the video(s); returns a summary (paths, frame count, timing).

    Under MPI the frames are rendered round-robin: in each round rank r renders frame ``round·size + r``, the
    frames are gathered, and rank 0 appends them in order, so memory holds at most one frame per rank.
    """
    from .. import backend
    from ..distributed import gather_objects
    from ..evaluate import png_bytes
    from ..checkpoint import atomic_write_bytes
    from ..rendering import render_image
    from ..runs import load_run, read_scene_info
    from ..train import render_settings
    from ..video import VideoWriter, find_ffmpeg

    out = Path(out)
    check_options(options, out)
    use_ffmpeg = find_ffmpeg() is not None
    if not use_ffmpeg:
        if options.png_dir is None:
            from ..video import require_ffmpeg

            require_ffmpeg()  # raises the one-line error with the install hint
        print(f"warning: ffmpeg not found (install it with `apt-get install ffmpeg`); writing PNG frames "
              f"only, to {options.png_dir}", file=sys.stderr)
    run = load_run(run_dir, checkpoint)
    info = read_scene_info(run.run_dir)
    factor = options.factor or int(info.get("factor", run.config.data.factor))
    frames_wanted = options.frames or DEFAULT_SPIRAL_FRAMES
    scene = load_render_scene(options.data or info["data"], factor, frames_wanted)
    poses = camera_poses(scene, options)
    settings = render_settings(scene, run.config, training=False)
    h, w = scene.intrinsics.height, scene.intrinsics.width
    rank, size = backend.rank(), backend.world_size()
    is_writer = rank == 0

    writers: list[VideoWriter] = []
    if is_writer and use_ffmpeg:
        out.parent.mkdir(parents=True, exist_ok=True)
        if options.layout == "side":
            writers.append(VideoWriter(out, 2 * w, h, fps=options.fps))
        else:
            writers.append(VideoWriter(out, w, h, fps=options.fps))
            writers.append(VideoWriter(depth_video_path(out), w, h, fps=options.fps))

    rounds = range(0, len(poses), size)
    if progress and is_writer:
        from tqdm import tqdm

        rounds = tqdm(rounds, desc=f"render {options.path}", unit="frame" if size == 1 else "round",
                      dynamic_ncols=True, mininterval=0.5 if sys.stderr.isatty() else 30.0)
    start = time.perf_counter()
    written = 0
    try:
        for first in rounds:
            index = first + rank
            mine = None
            if index < len(poses):
                outputs = render_image(run.model, scene, poses[index], settings, run.config.render.chunk_points)
                mine = compose_frame(outputs, scene.near, scene.far)
            # Every rank takes part in every round (the gather is collective); ranks past the end send None.
            for frame in gather_objects(mine):
                if frame is None or not is_writer:
                    continue
                colour, depth = frame
                if options.png_dir is not None:
                    atomic_write_bytes(options.png_dir / f"{written:04d}_rgb.png", png_bytes(colour))
                    atomic_write_bytes(options.png_dir / f"{written:04d}_depth.png", png_bytes(depth))
                if writers and options.layout == "side":
                    writers[0].write(np.concatenate([colour, depth], axis=1))
                elif writers:
                    writers[0].write(colour)
                    writers[1].write(depth)
                written += 1
        paths = [str(writer.close()) for writer in writers]
    except BaseException:
        for writer in writers:
            writer.abort()  # harmless for a writer already closed: its temporary file is gone
        raise
    seconds = time.perf_counter() - start
    return {
        "run_dir": str(run.run_dir), "checkpoint": str(run.checkpoint_path), "step": run.step,
        "path": options.path, "frames": len(poses), "width": w, "height": h, "fps": options.fps,
        "layout": options.layout, "video": paths[0] if paths else None,
        "depth_video": paths[1] if len(paths) > 1 else None,
        "png_dir": str(options.png_dir) if options.png_dir is not None else None,
        "sec_per_frame": seconds / max(1, len(poses)), "world_size": size,
    }


def run(args) -> int:
    from .. import backend

    out = Path(args.out) if args.out else Path(args.run) / f"render_{args.path}.mp4"
    options = RenderOptions(path=args.path, frames=args.frames, split=args.split, factor=args.factor,
                            data=args.data, fps=args.fps, layout=args.layout,
                            png_dir=Path(args.png_dir) if args.png_dir else None)
    summary = render_video(args.run, out, options, checkpoint=args.checkpoint, progress=not args.no_progress)
    if backend.rank() == 0:
        print(json.dumps(summary))
    return 0
