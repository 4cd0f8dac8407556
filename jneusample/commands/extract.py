"""``jneusample extract``: sample field extraction (the reference port's fine_tune stage)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import check_writable_dir


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "extract", help="extract a smaller sample field (N -> N_e samples) and fine-tune it",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Load a trained NeuSample run, replace the sample field's output layer by a fresh one with "
                    "N_e outputs, and fine-tune (sample field lr 5e-4, radiance field 5e-5, constant). The result "
                    "is a run directory that eval and render use directly; its config records the parent.")
    parser.add_argument("--run", required=True, help="the trained N-sample run directory")
    parser.add_argument("--samples", type=int, default=64, help="N_e, the number of samples of the extracted field")
    parser.add_argument("--steps", type=int, default=None,
                        help="fine-tuning steps (default: the preset's: paper 20000, cpu 1000)")
    parser.add_argument("--out", default=None, help="new run directory (default: <run>-n<N_e>)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted extraction in --out")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (with a checkpoint) after this long")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ..extract import extract

    out = Path(args.out) if args.out else Path(f"{str(args.run).rstrip('/')}-n{args.samples}")
    check_writable_dir(out)
    result = extract(args.run, args.samples, out, steps=args.steps, resume=args.resume,
                     max_minutes=args.max_minutes, progress=not args.no_progress)
    from .. import backend

    if backend.rank() != 0:
        return 0
    print(json.dumps({"run_dir": str(out), "step": result.step, "checkpoint": str(result.last_checkpoint),
                      "stopped_early": result.stopped_early, "train_psnr": result.train_psnr,
                      "val_psnr": result.val_psnr}))
    return 0
