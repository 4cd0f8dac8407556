"""``jneusample placement``: does a run's sample field place samples per ray (spread, own-vs-mean gap)?"""
from __future__ import annotations

import argparse

from .common import add_samples_option, interruptible, samples_suffix


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "placement", help="per-ray placement of a NeuSample run: spread across rays, own-vs-mean PSNR gap",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Render every k-th view of a split twice: with each ray's own samples, and with the sample "
                    "field's mean placement given to every ray (same radiance field). Prints and writes "
                    "RUN/placement_<split>.json: both PSNRs, their difference and the spread across rays of "
                    "each sample's position (0 for a fixed placement).")
    parser.add_argument("--run", required=True, help="run directory of a NeuSample model")
    parser.add_argument("--split", default="test", help="split to render (train, val, test)")
    parser.add_argument("--skip", type=int, default=8, help="render every k-th view of the split")
    parser.add_argument("--data", default=None, help="scene folder (default: the one the run was trained on)")
    parser.add_argument("--checkpoint", default="latest", help="latest, best, a step or a checkpoint file")
    parser.add_argument("--out", default=None, help="JSON file (default: RUN/placement_<split>[_nN].json)")
    add_samples_option(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from pathlib import Path

    from ..platform import backend
    from ..platform.fileio import check_writable_file, dumps, write_json
    from ..evaluation.placement import placement_study
    from ..platform.runs import checkpoint_choice, load_run

    checkpoint_choice(args.checkpoint)
    interruptible()  # Ctrl-C: one line and exit 130, no JSON written (not Jittor's exit 1)
    out = Path(args.out) if args.out else Path(args.run) / f"placement_{args.split}{samples_suffix(args.samples)}.json"
    check_writable_file(out)
    loaded = load_run(args.run, args.checkpoint, samples=args.samples)
    results = {"run": str(args.run), "step": loaded.step, **placement_study(loaded, args.split, args.skip, args.data)}
    if backend.rank() == 0:
        write_json(out, results)
        print(dumps({k: v for k, v in results.items() if k != "mean_t"}))
    return 0
