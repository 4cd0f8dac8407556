"""``jneusample demo``: train and evaluate on the embedded demo scene (the README's first command)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..demo import DEMO_MINUTES


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="train + evaluate the embedded demo scene (a first run)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train NeuSample (quick preset) on the embedded 64x64 demo scene for a few minutes, evaluate it "
                    "on the test views, print PSNR and where the run's files are, and write the test views "
                    "beside their renders to RUN/eval_test/strip.png. Running it again re-evaluates the run.")
    parser.add_argument("--minutes", type=float, default=DEMO_MINUTES, help="training budget (wall clock)")
    parser.add_argument("--out", default="runs/demo", help="run directory")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args) -> int:
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..platform import runguard
    from ..errors import InputError

    runguard.catch_early()  # a stop signal during start-up stops training at its first step
    if not args.minutes > 0:
        raise InputError(f"--minutes must be > 0, got {args.minutes}")
    from ..demo import DemoStopped, demo_config, run_demo  # the library, after the options are checked
    from ..platform.launch import relaunch_under_mpi
    from ..platform.startup import resolve_device

    # One rank per core, supervised by this process (its exit status is theirs); None: go on as one process.
    status = relaunch_under_mpi(demo_config(args.minutes).train.cpu_processes, resolve_device().device,
                                f"jneusample demo --out {args.out}")
    if status is not None:
        return status
    result = run_demo(Path(args.out), args.minutes, progress=not args.no_progress)
    from ..platform import backend  # Jittor is configured by now (run_demo started it)

    if isinstance(result, DemoStopped):  # as train does: the checkpoint, the way on, the signal's exit status
        if backend.rank() == 0:
            print(runguard.stopped_line(result.stop_signal, result.step, result.checkpoint,
                                        f"jneusample demo --out {args.out}"), file=sys.stderr, flush=True)
        return runguard.exit_status(result.stop_signal)
    if backend.rank() != 0:  # under the ranks of launch.py: one report
        return 0
    print(f"demo: trained {result.step} steps; test PSNR {result.psnr:.2f} dB, SSIM {result.ssim:.3f} over "
          f"{result.n_images} views ({result.sec_per_image:.2f} s per {result.width}x{result.height} image)")
    print(f"demo: run files in {result.run_dir}/ (config.json, checkpoints/, metrics.jsonl, eval_test/); "
          f"ground truth above renders: {result.strip}")
    print(json.dumps({"run_dir": str(result.run_dir), "step": result.step, "psnr": result.psnr,
                      "ssim": result.ssim, "strip": str(result.strip)}))
    return 0
