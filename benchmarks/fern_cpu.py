#!/usr/bin/env python3
"""LLFF fern at factor 8 (504x378, NDC) on the CPU: train the `cpu` preset for a budget, evaluate, render the spiral.

    python benchmarks/fern_cpu.py                         # 12 minutes of training, 4-frame spiral
    python benchmarks/fern_cpu.py --minutes 60 --frames 120 --out /tmp/fern

Runs the user-facing commands (`train`, `eval`, `render`) in one process and writes ``--out``/fern_cpu.json with
the held-out PSNR / SSIM / LPIPS (every 8th view: 3 views), training points/s and seconds per image.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "nerf_llff_data" / "fern"))
    parser.add_argument("--minutes", type=float, default=12.0, help="training budget (wall clock)")
    parser.add_argument("--frames", type=int, default=4, help="spiral video frames (~25 s each on 2 cores)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "out" / "fern_cpu"))
    args = parser.parse_args()
    if not Path(args.data).exists():
        print(f"error: {args.data}: fern scene not found (pass --data)", file=sys.stderr)
        return 2
    from jneusample.cli import main as cli

    run = Path(args.out) / "run"
    resume = ["--resume"] if (run / "checkpoints").exists() else []
    steps = [
        ["train", "--data", args.data, "--preset", "cpu", "--factor", "8", "--max-minutes", str(args.minutes),
         "--out", str(run), "--no-progress", *resume],
        ["eval", "--run", str(run), "--lpips", "vgg,alex", "--no-progress"],
        ["render", "--run", str(run), "--path", "spiral", "--frames", str(args.frames),
         "--out", str(Path(args.out) / "spiral.mp4"), "--no-progress"],
    ]
    for argv in steps:
        if cli(argv) != 0:
            return 1
    results = json.loads((run / "eval_test" / "results.json").read_text())
    train_log = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if '"loss"' in l]
    summary = {k: results[k] for k in ("step", "psnr", "ssim", "lpips_vgg", "lpips_alex", "sec_per_image",
                                      "n_images", "width", "height")}
    summary.update({"train_minutes": args.minutes, "train_points_per_sec": train_log[-1]["points_per_sec"],
                    "video": str(Path(args.out) / "spiral.mp4")})
    (Path(args.out) / "fern_cpu.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
