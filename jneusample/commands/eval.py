"""``jneusample eval``: render a split of a trained run and report PSNR / SSIM / LPIPS and render time."""
from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_samples_option, check_writable_dir, samples_suffix


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="evaluate a trained run on a split", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Render every view of a split with one of the run's checkpoints (default: the latest; "
                    "--checkpoint best takes the one with the highest validation PSNR recorded in training); "
                    "writes RUN_DIR/eval_<split>/results.json (with the checkpoint and its validation PSNR), "
                    "results.md and rgb/depth/error PNGs.")
    parser.add_argument("--run", required=True, help="run directory made by `jneusample train` or `extract`")
    parser.add_argument("--split", default="test", help="split to render (train, val, test)")
    parser.add_argument("--skip", type=int, default=1, help="render every k-th view of the split")
    parser.add_argument("--factor", type=int, default=None, help="downscale factor (default: the run's)")
    parser.add_argument("--data", default=None, help="scene folder (default: the one the run was trained on)")
    parser.add_argument("--checkpoint", default="latest",
                        help="which checkpoint: latest (the newest that loads), best (highest validation PSNR "
                             "recorded in RUN/checkpoints/val.json), a step number, or a checkpoint file")
    parser.add_argument("--lpips", default="alex,vgg",
                        help="LPIPS nets to compute: alex,vgg | alex | vgg | none")
    parser.add_argument("--out", default=None, help="report folder (default: RUN/eval_<split>)")
    parser.add_argument("--no-images", action="store_true", help="do not write the PNGs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_samples_option(parser)
    parser.set_defaults(func=run)


def parse_nets(text: str) -> tuple[str, ...]:
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..errors import InputError

    if text.strip().lower() == "none":
        return ()
    nets = tuple(n.strip().lower() for n in text.split(",") if n.strip())
    unknown = [n for n in nets if n not in ("alex", "vgg")]
    if unknown or not nets:
        raise InputError(f"--lpips {text!r}: expected alex,vgg | alex | vgg | none")
    return nets


def run(args) -> int:
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from .common import check_factor, interruptible

    check_factor(args.factor)
    interruptible()  # Ctrl-C: one line and exit 130, outputs cleaned up (not Jittor's exit 1)
    from ..platform import backend  # deferred: the library (and Jittor) once the options are checked
    from ..platform.fileio import dumps
    from ..evaluation.evaluate import EvalOptions, evaluate
    from ..platform.runs import checkpoint_choice

    checkpoint_choice(args.checkpoint)  # a bad value is one line before anything is loaded
    out_dir = Path(args.out) if args.out else Path(args.run) / f"eval_{args.split}{samples_suffix(args.samples)}"
    check_writable_dir(out_dir)

    options = EvalOptions(split=args.split, skip=args.skip, factor=args.factor, lpips_nets=parse_nets(args.lpips),
                          save_images=not args.no_images, data=args.data, out_dir=out_dir, samples=args.samples)
    results = evaluate(args.run, options, checkpoint=args.checkpoint, progress=not args.no_progress)
    if backend.rank() == 0:
        brief = {k: v for k, v in results.items() if k != "per_image"}
        print(dumps(brief))
    return 0
