#!/usr/bin/env python3
"""The README's first command, timed: `jneusample demo` as a user runs it (Jittor's compile cache warm).

    python benchmarks/demo_time.py [--out runs/demo_timed]

Runs `python -m jneusample demo --out OUT --no-progress` once from a shell-like start (a fresh process, so it
restarts itself as MPI ranks like a user's), measures its wall time, and writes the demo's test PSNR/SSIM, steps
and the wall time to benchmarks/results/demo.json (the issue's goal: ≥ 24 dB within 4 minutes). Copies the
ground-truth/render strip to docs/images/demo_strip.png for the README.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, LoadMonitor, write_result  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO / "runs" / "demo_timed"), help="demo run directory (replaced)")
    parser.add_argument("--no-strip", action="store_true", help="do not copy the strip into docs/images/")
    args = parser.parse_args()
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "jneusample", "demo", "--out", str(out), "--no-progress"]
    with LoadMonitor(interval=5.0) as load:
        start = time.time()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        wall = time.time() - start
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return proc.returncode
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    results = json.loads((out / "eval_test" / "results.json").read_text())
    metrics = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines() if l.strip()]
    world = max((m.get("world_size", 1) for m in metrics), default=1)
    payload = {"demo_command": "jneusample demo", "wall_seconds": round(wall, 1), "step": summary["step"],
               "test_psnr": round(results["psnr"], 3), "test_ssim": round(results["ssim"], 4),
               "test_views": results["n_images"], "world_size": world,
               "val_curve": [{"step": m["step"], "minutes": round(m["elapsed_s"] / 60, 2),
                              "val_psnr": round(m["val_psnr"], 2)} for m in metrics if m.get("val_psnr") is not None],
               "load_average": load.summary()}
    path = write_result("demo", payload)
    if not args.no_strip:
        images = REPO / "docs" / "images"
        images.mkdir(parents=True, exist_ok=True)
        shutil.copy2(out / "eval_test" / "strip.png", images / "demo_strip.png")
    print(json.dumps({k: payload[k] for k in ("wall_seconds", "step", "test_psnr", "test_ssim")}))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
