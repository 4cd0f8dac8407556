"""``jneusample train``: train NeuSample (or NeRF) on a scene."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..config import PRESETS
from ..presets import RECIPES
from ..models.registry import MODEL_KINDS
from .common import add_allow_outside_option, add_set_option, check_writable_dir

if TYPE_CHECKING:
    from ..training.request import TrainOptions


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a model on a scene", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train NeuSample on a scene. Writes RUN_DIR/config.json, checkpoints, metrics.jsonl; "
                    "--resume continues a run bit-exactly from its newest checkpoint that loads. "
                    "Extending a run: --resume --steps N with N larger than the run's current step trains on "
                    "to step N; the learning-rate schedule is then recomputed over the new total N (so the rate "
                    "jumps back up: no longer the same as one N-step run). To pause and continue with the "
                    "schedule untouched, use --stop-at. Ctrl-C, SIGTERM and SIGHUP finish the current step, "
                    "write a checkpoint and exit 130 / 143 / 129.")
    parser.add_argument("--data", default=None,
                        help="scene folder (Blender transforms_*.json, LLFF poses_bounds.npy, or transforms.json); "
                             "default: the embedded demo scene, or with --resume the run's own (its scene.json)")
    parser.add_argument("--preset", default=None, choices=tuple(PRESETS),
                        help="compute preset: paper = the published configuration (400k steps, N=192; "
                             "on an LLFF scene factor 4 and 100 epochs of its rays, as the official LLFF config; "
                             "under mpirun -np W the same rays in total: steps / W), "
                             "cpu = ~20 minutes on 2 CPU cores at ~100x100, quick = a few minutes (the demo's), "
                             "tiny = seconds (tests); "
                             "default: paper when training on a CUDA GPU, cpu otherwise (the device "
                             "JNEUSAMPLE_DEVICE=auto|cpu|cuda selects), or with --resume the run's own")
    parser.add_argument("--model", default=None, choices=MODEL_KINDS,
                        help="model kind (default: the preset's, neusample)")
    parser.add_argument("--recipe", default=None, choices=tuple(RECIPES),
                        help="a named bundle of config overrides, applied before --set: proposal = the sample "
                             "field that learns per-ray placement (quantile head supervised by a probe pass of "
                             "the radiance field; docs/method.md §9); it beats stratified sampling at N = 8 and 16 "
                             "and loses at 32 and 64 (README)")
    parser.add_argument("--factor", type=int, default=None,
                        help="downscale images by this factor (area averaging); default: the preset's (1; "
                             "paper on an LLFF scene: 4, as the official LLFF config)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps (default: the preset's; paper on an LLFF scene: 100 epochs of "
                             "its training rays; paper under mpirun -np W: its steps / W; with --resume the "
                             "run's). With --resume a "
                             "different N extends the run to step N (N must exceed its current step) and "
                             "recomputes the learning-rate schedule over N")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="stop (with a checkpoint) after this many minutes of training (positive; omit it "
                             "for no limit)")
    parser.add_argument("--stop-at", type=int, default=None,
                        help="end this invocation at this step (>= 1, with a checkpoint); --resume continues "
                             "it, bit-exactly")
    parser.add_argument("--out", default=None, help="run directory (default: runs/<scene>-<preset>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its newest checkpoint that loads (from step 0 when "
                             "it was stopped before its first one); its saved config is used, and options that "
                             "change what a step computes (--set train.lr=..., --preset, --factor) are refused")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--print-config", action="store_true",
                        help="print the config this command line would train with (preset, its scene-dependent "
                             "defaults, --set, --steps, --max-minutes) as JSON and exit, without training or "
                             "writing anything")
    add_allow_outside_option(parser)
    add_set_option(parser)
    parser.set_defaults(func=run)


def options_from(args) -> "TrainOptions":
    """The parsed command line as the library's :class:`jneusample.training.request.TrainOptions`."""
    from ..training.request import TrainOptions  # deferred: the library, once the arguments are parsed

    return TrainOptions(data=args.data, preset=args.preset, model=args.model, recipe=args.recipe, factor=args.factor,
                        steps=args.steps, overrides=list(args.overrides or []), max_minutes=args.max_minutes,
                        stop_at=args.stop_at, out=args.out, resume=args.resume,
                        allow_outside_paths=bool(args.allow_outside_paths), progress=not args.no_progress)


def run(args) -> int:
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..platform import fileio, runguard
    from ..platform.launch import relaunch_under_mpi
    from ..platform.startup import resolve_device
    from ..training.request import plan_run, resolved_config, train_planned

    runguard.catch_early()  # a stop signal during start-up (Jittor, the scene) stops the run at its first step
    options = options_from(args)
    device = resolve_device().device  # no Jittor import: the default preset and the MPI relaunch depend on it
    plan = plan_run(options, device)
    if args.print_config:
        print(resolved_config(options, plan).to_json())
        return 0
    check_writable_dir(plan.out)
    # Supervises the ranks and returns their exit status when the config asks for several (Jittor not imported)
    status = relaunch_under_mpi(plan.config.train.cpu_processes, device,
                                f"jneusample train --out {plan.out} --resume")
    if status is not None:
        return status
    result = train_planned(options, plan)
    from ..platform import backend  # Jittor is configured by now (the run started it)

    if backend.rank() == 0:  # one summary per job, not one per MPI rank
        print(fileio.dumps({"run_dir": str(plan.out), "step": result.step, "checkpoint": str(result.last_checkpoint),
                            "stopped_early": result.stopped_early, "train_psnr": result.train_psnr,
                            "val_psnr": result.val_psnr, "points_per_sec": result.points_per_sec,
                            "world_size": result.world_size, "rays_per_step": plan.config.train.rays_per_step,
                            "effective_rays_per_step": result.effective_rays_per_step}))
    if result.stop_signal:
        if backend.rank() == 0:
            print(runguard.stopped_line(result.stop_signal, result.step, result.last_checkpoint,
                                        f"jneusample train --out {plan.out} --resume"), file=sys.stderr, flush=True)
        return runguard.exit_status(result.stop_signal)
    return 0
