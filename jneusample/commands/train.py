"""``jneusample train``: train NeuSample (or NeRF) on a scene."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import add_set_option, check_writable_dir


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a model on a scene", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train NeuSample on a scene. Writes RUN_DIR/config.json, checkpoints, metrics.jsonl; "
                    "--resume continues a run bit-exactly from its latest checkpoint.")
    parser.add_argument("--data", default=None,
                        help="scene folder (Blender transforms_*.json, LLFF poses_bounds.npy, or transforms.json); "
                             "default: the embedded demo scene")
    parser.add_argument("--preset", default="cpu", choices=("cpu", "paper", "tiny"),
                        help="compute preset: paper = the published configuration (400k steps, N=192), "
                             "cpu = ~20 minutes on 2 CPU cores at ~100x100, tiny = seconds (tests)")
    parser.add_argument("--model", default=None, choices=("neusample", "nerf"),
                        help="model kind (default: the preset's, neusample)")
    parser.add_argument("--factor", type=int, default=None,
                        help="downscale images by this factor (area averaging); default: the preset's (1)")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the preset's)")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="stop (with a checkpoint) after this many minutes of training")
    parser.add_argument("--stop-at", type=int, default=None,
                        help="end this invocation at this step (with a checkpoint); --resume continues it")
    parser.add_argument("--out", default=None, help="run directory (default: runs/<scene>-<preset>)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_set_option(parser)
    parser.set_defaults(func=run)


def build_config(args):
    from ..config import apply_overrides, preset

    config = preset(args.preset)
    if args.model:
        config.model.kind = args.model
    if args.factor is not None:
        config.data.factor = args.factor
    if args.steps is not None:
        config.train.steps = args.steps
    return apply_overrides(config, args.overrides)


def _llff_without_full_size(data: Path) -> bool:
    return (data / "poses_bounds.npy").exists() and not (data / "images").is_dir() and (data / "images_8").is_dir()


def run(args) -> int:
    from ..data import DEMO_SCENE, load_scene
    from ..train import train

    config = build_config(args)
    data = Path(args.data) if args.data else DEMO_SCENE
    out = Path(args.out) if args.out else Path("runs") / f"{data.name}-{config.preset}"
    check_writable_dir(out)
    if args.factor is None and config.data.factor == 1 and _llff_without_full_size(data):
        # LLFF scenes usually ship only downscaled images; the standard protocol trains at factor 8.
        config.data.factor = 8
        print("note: LLFF scene without full-size images/: using --factor 8 (the standard protocol)", file=sys.stderr)
    scene = load_scene(data, factor=config.data.factor, testskip=config.data.testskip)
    info = {"data": str(data.resolve()), "format": scene.format, "factor": config.data.factor,
            "height": scene.intrinsics.height, "width": scene.intrinsics.width}
    result = train(config, scene, out, resume=args.resume, max_minutes=args.max_minutes,
                   progress=not args.no_progress, scene_info=info, stop_at=args.stop_at)
    summary = {"run_dir": str(out), "step": result.step, "checkpoint": str(result.last_checkpoint),
               "stopped_early": result.stopped_early, "train_psnr": result.train_psnr,
               "val_psnr": result.val_psnr, "points_per_sec": result.points_per_sec,
               "world_size": result.world_size, "rays_per_step": config.train.rays_per_step,
               "effective_rays_per_step": result.effective_rays_per_step}
    from .. import backend

    if backend.rank() == 0:  # one summary per job, not one per MPI rank
        print(json.dumps(summary))
    return 0
