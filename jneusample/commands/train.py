"""``jneusample train``: train NeuSample (or NeRF) on a scene."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ..errors import InputError
from ..config import PRESETS
from ..models.registry import MODEL_KINDS
from .common import add_allow_outside_option, add_set_option, check_writable_dir


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


def check_options(args) -> None:
    """One-line errors for option values that no run can use, before anything is loaded."""
    if args.max_minutes is not None and not (math.isfinite(args.max_minutes) and args.max_minutes > 0):
        raise InputError(f"--max-minutes must be a positive number of minutes, got {args.max_minutes:g} "
                         "(omit it for no time limit)")
    if args.stop_at is not None and args.stop_at < 1:
        raise InputError(f"--stop-at must be a step >= 1, got {args.stop_at}")
    if args.steps is not None and args.steps < 1:
        raise InputError(f"--steps must be >= 1, got {args.steps}")
    if args.factor is not None and args.factor < 1:
        raise InputError(f"--factor must be a positive integer, got {args.factor}")


def build_config(args, saved=None, default: str = "cpu"):
    """The requested config: ``saved`` (the run's, on --resume) or the preset (``default`` when ``--preset`` is
    not given: :func:`jneusample.presets.default_preset`), then the explicit options.

    On --resume only what the user typed is applied on top of the saved config, so that any change is seen
    by the resume check (a different --preset included) and nothing changes silently to a preset's default.
    """
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..config import apply_overrides, preset

    if saved is not None:
        config = saved
        if args.preset is not None:
            config.preset = args.preset  # a different preset is refused as a config change
    else:
        config = preset(args.preset or default)
    if args.model:
        config.model.kind = args.model
    if args.factor is not None:
        config.data.factor = args.factor
    if args.steps is not None:
        config.train.steps = args.steps
    return apply_overrides(config, args.overrides)


def _given(args, flag: str, key: str) -> bool:
    """Whether the user chose ``key`` (section.field) on the command line: ``--flag`` or ``--set key=...``."""
    return getattr(args, flag, None) is not None or any(
        item.split("=", 1)[0].strip() == key for item in (getattr(args, "overrides", None) or []))


def load_training_scene(args, config, data: Path, new_run: bool, world_size: int | None = None,
                        load: bool = True):
    """Load the scene to train on, after the preset's scene-dependent values for a new run
    (:func:`jneusample.presets.resolve_for_scene`, a note on stderr each; what ``--factor`` / ``--steps`` / ``--set``
    chose stays). A resumed run keeps its saved config. ``world_size`` None: this process's MPI job's (imports
    Jittor). ``load=False`` reads the scene only where a default needs it (LLFF's ray pool) and then returns None,
    for ``--print-config``.
    """
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..data import detect_format, load_scene
    from ..presets import resolve_for_scene, train_ray_count

    if world_size is None:
        from ..platform import backend

        world_size = backend.world_size()
    loaded = []

    def load_now(config):
        loaded.append(load_scene(data, factor=config.data.factor, testskip=config.data.testskip,
                                 allow_outside=args.allow_outside_paths))
        return loaded[-1]

    if new_run:
        given = {key for flag, key in (("factor", "data.factor"), ("steps", "train.steps")) if _given(args, flag, key)}
        resolve_for_scene(config, data, detect_format(data), given, world_size,
                          train_rays=lambda config: train_ray_count(load_now(config)),
                          note=lambda text: print(f"note: {text}", file=sys.stderr))
    if not load:
        return None
    return loaded[-1] if loaded else load_now(config)


def print_config(args, config, data: Path, new_run: bool) -> int:
    """``--print-config``: the resolved config as JSON on stdout (notes on stderr), nothing trained or written.

    Applies what ``run`` and ``train`` would: the scene-dependent defaults (reading the scene only for LLFF's
    ray pool; the MPI world size from the launcher's environment, so Jittor is not started) and ``--max-minutes``,
    which becomes a time schedule's budget (``train.minutes``).
    """
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..platform.startup import launcher_world_size

    load_training_scene(args, config, data, new_run, world_size=launcher_world_size(), load=False)
    if args.max_minutes and config.train.schedule == "time":
        config.train.minutes = float(args.max_minutes)  # as train.train does with max_minutes
    print(config.to_json())
    return 0


def run(args) -> int:
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..platform import fileio, runguard
    from ..data import DEMO_SCENE
    from ..presets import default_preset
    from ..platform.runs import SceneInfo, config_path, read_config, read_scene_info, scene_folder, scene_info_path
    from ..platform.startup import resolve_device

    runguard.catch_early()  # a stop signal during start-up (Jittor, the scene) stops the run at its first step
    check_options(args)
    device = resolve_device().device  # no Jittor import: the default preset and the MPI relaunch depend on it
    preset_name = args.preset or default_preset(device)
    data = Path(args.data) if args.data else DEMO_SCENE
    out = Path(args.out) if args.out else Path("runs") / f"{data.name}-{preset_name}"
    saved = read_config(out) if args.resume and config_path(out).is_file() else None
    if saved is not None and not args.data and scene_info_path(out).is_file():
        # a resumed run trains on its own scene (not the demo scene), read where its scene.json says
        saved_info = read_scene_info(out)
        data = scene_folder(out, saved_info)
        args.allow_outside_paths = args.allow_outside_paths or saved_info.allow_outside_paths
    config = build_config(args, saved, default=preset_name)
    if args.print_config:
        return print_config(args, config, data, new_run=saved is None)
    check_writable_dir(out)
    from ..platform.launch import relaunch_under_mpi

    # Supervises the ranks and returns their exit status when the config asks for several (Jittor not imported)
    status = relaunch_under_mpi(config.train.cpu_processes, device, f"jneusample train --out {out} --resume")
    if status is not None:
        return status
    from ..training.trainer import train

    scene = load_training_scene(args, config, data, new_run=saved is None)
    info = SceneInfo(data=str(data.resolve()), format=scene.format, factor=config.data.factor,
                     height=scene.intrinsics.height, width=scene.intrinsics.width,
                     allow_outside_paths=bool(args.allow_outside_paths))  # eval and render read the same files
    result = train(config, scene, out, resume=args.resume, max_minutes=args.max_minutes,
                   progress=not args.no_progress, scene_info=info, stop_at=args.stop_at)
    summary = {"run_dir": str(out), "step": result.step, "checkpoint": str(result.last_checkpoint),
               "stopped_early": result.stopped_early, "train_psnr": result.train_psnr,
               "val_psnr": result.val_psnr, "points_per_sec": result.points_per_sec,
               "world_size": result.world_size, "rays_per_step": config.train.rays_per_step,
               "effective_rays_per_step": result.effective_rays_per_step}
    from ..platform import backend

    if backend.rank() == 0:  # one summary per job, not one per MPI rank
        print(fileio.dumps(summary))
    if result.stop_signal:
        if backend.rank() == 0:
            print(runguard.stopped_line(result.stop_signal, result.step, result.last_checkpoint,
                                        f"jneusample train --out {out} --resume"), file=sys.stderr, flush=True)
        return runguard.exit_status(result.stop_signal)
    return 0
