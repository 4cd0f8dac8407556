"""``jneusample demo``: train and evaluate on the embedded demo scene (the README's first command)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

DEMO_STEPS = 500
"""Long enough for a recognisable model of the 64x64 demo scene, short enough for a first run on 2 CPU cores."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="train + evaluate the embedded demo scene (a first run)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train NeuSample (cpu preset) on the embedded 64x64 demo scene, evaluate it on the test "
                    "views and print PSNR and where the run's files are. Running it again continues the run.")
    parser.add_argument("--steps", type=int, default=DEMO_STEPS, help="training steps")
    parser.add_argument("--out", default="runs/demo", help="run directory")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ..checkpoint import latest_checkpoint
    from ..config import preset
    from ..data import DEMO_SCENE, load_scene
    from ..evaluate import EvalOptions, evaluate
    from ..train import train

    out = Path(args.out)
    config = preset("cpu")
    config.train.steps = args.steps
    config.train.precrop_steps = min(config.train.precrop_steps, args.steps // 5)
    scene = load_scene(DEMO_SCENE)
    resume = latest_checkpoint(out) is not None
    info = {"data": str(DEMO_SCENE), "format": scene.format, "factor": 1,
            "height": scene.intrinsics.height, "width": scene.intrinsics.width}
    result = train(config, scene, out, resume=resume, progress=not args.no_progress, scene_info=info)
    results = evaluate(out, EvalOptions(split="test", lpips_nets=()), progress=not args.no_progress)
    print(f"demo: trained {result.step} steps; test PSNR {results['psnr']:.2f} dB, SSIM {results['ssim']:.3f} "
          f"over {results['n_images']} views ({results['sec_per_image']:.2f} s per {results['width']}x"
          f"{results['height']} image)")
    print(f"demo: run files in {out}/ (config.json, checkpoints/, metrics.jsonl, eval_test/results.json and PNGs)")
    print(json.dumps({"run_dir": str(out), "step": result.step, "psnr": results["psnr"], "ssim": results["ssim"]}))
    return 0
