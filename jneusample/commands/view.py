"""``jneusample view``: a live web viewer of a run (viser), rendered by the run's model."""
from __future__ import annotations

import argparse
import sys

from .common import interruptible


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "view", help="live web viewer of a run (browser; loopback by default)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Serve a web page (viser) that renders the run's model for the browser's camera: low "
                    "resolution while the camera moves, full resolution when it stops; the training cameras; "
                    "rgb / depth / opacity; the samples along a clicked ray; an N slider with the frame time and "
                    "the validation PSNR for models that render at any N. Served on 127.0.0.1 unless --host "
                    "says otherwise; never shared publicly.")
    parser.add_argument("--run", required=True, help="run directory made by `jneusample train` or `extract`")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to serve on; anything but loopback lets other machines see the run")
    parser.add_argument("--follow", action="store_true",
                        help="reload the newest checkpoint while the run trains (looks every 5 s)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint to show (default: the run's latest)")
    parser.add_argument("--data", default=None, help="scene folder (default: the one the run was trained on)")
    parser.add_argument("--factor", type=int, default=None, help="downscale factor (default: the run's)")
    parser.add_argument("--resolution", type=int, default=None,
                        help="height in pixels of the still frame (default: the scene's image height)")
    parser.add_argument("--moving-fps", type=float, default=4.0,
                        help="frame rate aimed at while the camera moves (sets the moving frame's size)")
    parser.add_argument("--psnr-views", type=int, default=4,
                        help="validation views behind the PSNR shown for the chosen N (0: none)")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..outputs.viewer import ViewerOptions, check_options, is_loopback, view

    options = ViewerOptions(host=args.host, port=args.port, checkpoint=args.checkpoint, follow=args.follow,
                            data=args.data, factor=args.factor, resolution=args.resolution,
                            moving_fps=args.moving_fps, psnr_views=args.psnr_views)
    check_options(options)
    if not is_loopback(args.host):
        print(f"warning: --host {args.host} is not loopback: anyone who can reach this machine on port "
              f"{args.port} can see the run and its training images", file=sys.stderr)
    interruptible()  # Ctrl-C stops the server: one line and exit 130 (not Jittor's "quick exit" 1)
    view(args.run, options)
    return 0
