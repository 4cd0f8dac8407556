"""``jneusample render``: a video of colour and depth along the scene's render path, its test cameras, a smooth
path through its training cameras, or the cameras of a nerfstudio ``camera_path.json``.

The work is :func:`jneusample.outputs.video.render_video`; this module parses the options and checks, before anything
is rendered, that the outputs can be written.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import add_samples_option, samples_suffix


def register(subparsers) -> argparse.ArgumentParser:
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..data.camera_paths import INTERPOLATE_KEYS

    parser = subparsers.add_parser(
        "render", help="render a video of a trained run", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Render colour and depth along the scene's video path (spiral: the spherical path around "
                    "a Blender object, NeRF's spiral for forward-facing scenes, a circle for transforms.json "
                    "object scenes), along the cameras of a split (--path test), along a smooth path through "
                    f"{INTERPOLATE_KEYS} training cameras (--path interpolate), or along the cameras of a nerfstudio "
                    "camera_path.json (--camera-path FILE), and write an H.264 MP4 "
                    "with ffmpeg. Frames are streamed to ffmpeg (memory does not grow with --frames) and the "
                    "video appears under its name only once it is complete.")
    parser.add_argument("--run", required=True, help="run directory made by `jneusample train` or `extract`")
    parser.add_argument("--path", default=None,
                        help="camera path: spiral | test | interpolate (default spiral; interpolate: positions "
                             f"on a Catmull-Rom spline and slerped rotations through {INTERPOLATE_KEYS} training "
                             "cameras spread evenly over the split's order)")
    parser.add_argument("--camera-path", default=None, metavar="FILE.json",
                        help="render the cameras of a nerfstudio camera_path.json (perspective; poses in the "
                             "scene's world frame) at its render_width x render_height (divided by --factor) "
                             "and its fps (unless --fps); instead of --path")
    parser.add_argument("--frames", type=int, default=None,
                        help="frames of the spiral or interpolated path (default 120); with --path test or "
                             "--camera-path, the first N cameras (default: all)")
    parser.add_argument("--split", default="test", help="split whose cameras --path test follows")
    parser.add_argument("--factor", type=int, default=None,
                        help="downscale factor (default: the run's); with --camera-path, of the file's size "
                             "(default 1)")
    parser.add_argument("--data", default=None, help="scene folder (default: the one the run was trained on)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint file (default: the run's latest)")
    parser.add_argument("--fps", type=float, default=None,
                        help="frames per second of the video (default: the camera path file's, else 30)")
    parser.add_argument("--out", default=None,
                        help="video file, .mp4 (default: RUN_DIR/render_<path>.mp4; with --camera-path, "
                             "RUN_DIR/render_<file name>.mp4)")
    parser.add_argument("--layout", default="side",
                        help="side: colour and depth side by side in one video; separate: FILE.mp4 (colour) "
                             "and FILE_depth.mp4")
    parser.add_argument("--png-dir", default=None,
                        help="also write every frame as NNNN_rgb.png / NNNN_depth.png here (without ffmpeg: "
                             "only these)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_samples_option(parser)
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from .common import check_factor, interruptible

    check_factor(args.factor)
    interruptible()  # Ctrl-C: one line and exit 130, outputs cleaned up (not Jittor's exit 1)
    from ..platform import backend  # deferred: the library (and Jittor) once the options are checked
    from ..platform.fileio import check_writable_dir, probe_writable
    from ..errors import InputError
    from ..outputs.video import CAMERA_PATH, RenderOptions, check_options, render_video

    if args.camera_path and args.path:
        raise InputError("--camera-path FILE and --path are exclusive: give one of them")
    camera_path = Path(args.camera_path) if args.camera_path else None
    path = CAMERA_PATH if camera_path else (args.path or "spiral")
    name = camera_path.stem if camera_path else path
    out = Path(args.out) if args.out else Path(args.run) / f"render_{name}{samples_suffix(args.samples)}.mp4"
    options = RenderOptions(path=path, frames=args.frames, split=args.split, factor=args.factor,
                            data=args.data, fps=args.fps, layout=args.layout,
                            png_dir=Path(args.png_dir) if args.png_dir else None, samples=args.samples,
                            camera_path=camera_path)
    check_options(options, out)
    for folder, shown in ((out.parent, out), (options.png_dir, options.png_dir)):
        if folder is not None:
            check_writable_dir(folder)
            probe_writable(folder, shown)
    summary = render_video(args.run, out, options, checkpoint=args.checkpoint, progress=not args.no_progress)
    if backend.rank() == 0:
        print(json.dumps(summary))
    return 0
