"""``jneusample process``: photos or a video → a scene folder with COLMAP poses (the work is
:mod:`jneusample.data.process`; pycolmap is imported there, only when this command runs)."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``process`` subcommand to an ``argparse`` subparsers object."""
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..data.process import CAMERA_MODELS, MATCHERS, ProcessOptions

    defaults = ProcessOptions()
    parser = subparsers.add_parser(
        "process",
        help="photos or a video → camera poses with COLMAP (CPU) → a scene folder to train on",
        description="Estimate camera poses of your photos (or of frames of a video) with COLMAP on the CPU "
                    "(pycolmap: SIFT, matching, incremental mapping, undistortion) and write a scene folder "
                    "with undistorted images and a transforms.json that 'jneusample train --data OUT' reads.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", type=Path, metavar="DIR", help="folder of photos (.jpg, .png, ...), one size")
    source.add_argument("--video", type=Path, metavar="FILE", help="a video; frames are taken with ffmpeg")
    parser.add_argument("--out", required=True, type=Path, metavar="SCENE",
                        help="new scene folder (refused when it exists and is not empty)")
    parser.add_argument("--matcher", choices=MATCHERS, default=None,
                        help="which image pairs to match: exhaustive (every pair; default for --images) or "
                             "sequential (each frame with its next ones; default for --video)")
    parser.add_argument("--fps", type=float, default=defaults.fps,
                        help=f"frames per second taken from --video (default {defaults.fps:g})")
    parser.add_argument("--camera-model", choices=CAMERA_MODELS, default=defaults.camera_model,
                        help=f"COLMAP camera model shared by all images (default {defaults.camera_model}: "
                             "focal lengths, principal point, radial and tangential distortion)")
    parser.add_argument("--max-image-size", type=int, default=defaults.max_image_size, metavar="PIXELS",
                        help=f"longest side SIFT sees (default {defaults.max_image_size}); the images "
                             "themselves keep their size")
    parser.add_argument("--min-registered", type=float, default=defaults.min_registered, metavar="SHARE",
                        help="refuse the scene when COLMAP registers fewer than this share of the images "
                             f"(default {defaults.min_registered:g})")
    parser.add_argument("--ndc", action=argparse.BooleanOptionalAction, default=None,
                        help="mark the scene forward-facing (NDC rays), or not (--no-ndc); default: decided "
                             "from the cameras (forward-facing when they all look roughly the same way)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="COLMAP's random seed (default 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress lines")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    """Run the pipeline and print a summary; InputError on bad input. Returns the exit status 0."""
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    import sys

    from ..data.process import ProcessOptions, process

    matcher = args.matcher or ("sequential" if args.video is not None else "exhaustive")
    options = ProcessOptions(matcher=matcher, camera_model=args.camera_model, max_image_size=args.max_image_size,
                             min_registered=args.min_registered, ndc=args.ndc, fps=args.fps, seed=args.seed)
    summary = process(args.out, images=args.images, video=args.video, options=options,
                      progress=not args.no_progress)
    if summary["not_registered"]:
        shown = ", ".join(summary["not_registered"][:5]) + (" ..." if len(summary["not_registered"]) > 5 else "")
        print(f"warning: {len(summary['not_registered'])} image(s) did not register and are left out: {shown}",
              file=sys.stderr)
    camera = summary["camera"]
    kind = "forward-facing (ndc)" if summary["ndc"] else "not forward-facing (no ndc)"
    bounds = f", near {summary['near']:.3g}, far {summary['far']:.3g}" if summary["near"] is not None else ""
    print(f"wrote {args.out}: {summary['registered']} of {summary['total']} images registered, undistorted "
          f"{camera['w']}x{camera['h']} fl_x {camera['fl_x']:.1f}{bounds}, {kind}, "
          f"{summary['seconds']['total']:.0f} s; train with: jneusample train --data {args.out}")
    return 0
