"""``jneusample plot-samples``: a figure of where a trained model puts its samples along the rays of a view."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError
from .common import add_samples_option, interruptible, samples_suffix


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "plot-samples", help="plot where the model samples along rays",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Render one view of a split and draw, for a few pixels (most on the object, some on the "
                    "background), the N sample positions along the ray against the compositing weights and "
                    "the depth; plus a histogram of all sample positions of the view normalised to "
                    "[near, far], and the rendered image with the pixels marked. Writes a PNG.")
    parser.add_argument("--run", required=True, help="run directory made by `jneusample train` or `extract`")
    parser.add_argument("--split", default="test", help="split of the view (train, val, test)")
    parser.add_argument("--view", type=int, default=0, help="index of the view in the split")
    parser.add_argument("--pixels", type=int, default=6, help="pixels that get their own panel (1-12)")
    parser.add_argument("--bins", type=int, default=50, help="histogram bins over [near, far]")
    parser.add_argument("--factor", type=int, default=None, help="downscale factor (default: the run's)")
    parser.add_argument("--data", default=None, help="scene folder (default: the one the run was trained on)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint file (default: the run's latest)")
    parser.add_argument("--dpi", type=int, default=110, help="resolution of the PNG")
    parser.add_argument("--out", default=None, help="PNG file (default: RUN_DIR/samples_<split>_<view>.png)")
    add_samples_option(parser)
    parser.set_defaults(func=run)
    return parser


MAX_PIXELS = 12


def run(args) -> int:
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from .common import check_factor

    check_factor(args.factor)
    interruptible()  # Ctrl-C: one line and exit 130, no figure written (not Jittor's exit 1)
    from ..platform import backend  # deferred: the library (and Jittor) once the options are checked
    from ..outputs.plots import draw_samples, save_figure, study_samples
    from ..platform.fileio import check_writable_dir, probe_writable

    out = Path(args.out) if args.out else Path(args.run) / \
        f"samples_{args.split}_{args.view}{samples_suffix(args.samples)}.png"
    if out.suffix.lower() != ".png":
        raise InputError(f"{out}: the figure must be a .png file")
    if out.is_dir():
        raise InputError(f"{out}: is a directory, expected a file name")
    if not 1 <= args.pixels <= MAX_PIXELS:
        raise InputError(f"--pixels must be between 1 and {MAX_PIXELS}, got {args.pixels}")
    if not 20 <= args.dpi <= 600:
        raise InputError(f"--dpi must be between 20 and 600, got {args.dpi}")
    if backend.rank() != 0:
        return 0  # one figure; the other ranks have nothing to do
    check_writable_dir(out.parent)
    probe_writable(out.parent, out)
    study = study_samples(args.run, split=args.split, view=args.view, pixels=args.pixels, bins=args.bins,
                          data=args.data, factor=args.factor, checkpoint=args.checkpoint, samples=args.samples)
    save_figure(draw_samples(study), out, dpi=args.dpi)
    print(json.dumps({"figure": str(out), "run_dir": str(args.run), "split": args.split, "step": study.step,
                      **study.summary()}))
    return 0
