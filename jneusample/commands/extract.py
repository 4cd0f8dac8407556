"""``jneusample extract``: sample field extraction (the reference port's fine_tune stage)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..platform.fileio import dumps
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
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override the extracted run's config (repeatable), e.g. extract.distill=coverage "
                             "(none|coverage) or extract.head_init=quantiles (fresh|quantiles); model keys are "
                             "the parent's. With --resume the run's own settings are kept")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted extraction in --out")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (with a checkpoint) after this long")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args) -> int:
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    import math
    import sys

    from ..platform import runguard
    from ..errors import InputError

    runguard.catch_early()  # before Jittor starts: a stop signal during start-up stops at the first step
    from ..training.extract import extract  # deferred: the library (and Jittor) once the options are checked

    if args.max_minutes is not None and not (math.isfinite(args.max_minutes) and args.max_minutes > 0):
        raise InputError(f"--max-minutes must be a positive number of minutes, got {args.max_minutes:g} "
                         "(omit it for no time limit)")

    out = Path(args.out) if args.out else Path(f"{str(args.run).rstrip('/')}-n{args.samples}")
    check_writable_dir(out)
    result = extract(args.run, args.samples, out, steps=args.steps, resume=args.resume,
                     max_minutes=args.max_minutes, progress=not args.no_progress, overrides=args.overrides)
    from ..platform import backend  # Jittor is configured by now (extract started it)

    if backend.rank() == 0:  # one summary and one stop line per job, not one per MPI rank
        print(dumps({"run_dir": str(out), "step": result.step, "checkpoint": str(result.last_checkpoint),
                     "stopped_early": result.stopped_early, "train_psnr": result.train_psnr,
                     "val_psnr": result.val_psnr}))
        if result.stop_signal:
            print(runguard.stopped_line(result.stop_signal, result.step, result.last_checkpoint,
                                        f"jneusample extract --run {args.run} --samples {args.samples} --out {out} "
                                        "--resume"), file=sys.stderr, flush=True)
    return runguard.exit_status(result.stop_signal) if result.stop_signal else 0
