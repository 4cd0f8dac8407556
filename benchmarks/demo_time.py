"""The README's first command, timed: ``jneusample demo``'s wall time and test PSNR/SSIM (goal: 24 dB in 4 min).

    python benchmarks/demo_time.py [--out runs/demo_timed] [--no-strip]

``python -m jneusample demo --out OUT`` as a user runs it (a fresh process that restarts itself as MPI ranks,
Jittor's compile cache warm) → ``benchmarks/results/demo.json``; its strip → docs/images/demo_strip.png.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import harness as h

SPEC = h.Spec("demo", __doc__, out=str(h.REPO / "runs" / "demo_timed"))


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("--no-strip", action="store_true", help="do not copy the strip into docs/images/")
    args = SPEC.parse(parser, argv)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    with h.Alone("jneusample demo", interval=5.0) as load:
        start = time.time()
        proc = h.jneusample(["demo", "--out", str(out), "--no-progress"], capture=True)
        wall = time.time() - start
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    results = json.loads((out / "eval_test" / "results.json").read_text())
    payload = {"demo_command": "jneusample demo", "wall_seconds": round(wall, 1), "step": summary["step"],
               "test_psnr": round(results["psnr"], 3), "test_ssim": round(results["ssim"], 4),
               "test_views": results["n_images"],
               "world_size": max((m.get("world_size", 1) for m in h.metrics(out, "all")), default=1),
               "val_curve": h.val_curve(out), "load_average": load.summary()}
    SPEC.write(args, payload)
    if not args.no_strip:
        shutil.copy2(out / "eval_test" / "strip.png", h.REPO / "docs" / "images" / "demo_strip.png")
    print(json.dumps({k: payload[k] for k in ("wall_seconds", "step", "test_psnr", "test_ssim")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
