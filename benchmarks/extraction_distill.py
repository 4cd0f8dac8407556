#!/usr/bin/env python3
"""Plain vs distilled sample field extraction at N_e ≈ N/3: test PSNR of the child against its parent's.

    python benchmarks/extraction_distill.py                          # lego: plain, start, distilled, 1000 steps
    python benchmarks/extraction_distill.py --scene fern
    python benchmarks/extraction_distill.py --variant colour=extract.head_init=quantiles,extract.distill=coverage,extract.distill_color_weight=1

Each variant is ``jneusample extract --run PARENT --samples N_e --steps S --set train.schedule=steps --set ...``
(a fresh process) followed by ``jneusample eval --lpips none`` (test split; every 8th view for lego, as the
pretrained tables). ``train.schedule=steps`` only takes away the parent's 20-minute time cap (an extraction's
learning rates are constant), so every variant runs exactly S steps whatever the machine's load. The rows
(test PSNR/SSIM, the parent's, the dB lost, minutes, commands) are merged into
``benchmarks/results/extraction_distill.json`` under the scene and variant names.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, RESULTS, LoadMonitor, write_result  # noqa: E402

PARENTS = {  # scene → (parent run, eval --skip)
    "lego": (REPO / "runs" / "pretrained" / "lego-x8-cpu", 8),
    "fern": (REPO / "runs" / "pretrained" / "fern-x8-cpu", 1),
}
VARIANTS = {
    "plain": ["extract.head_init=fresh", "extract.distill=none"],
    "start": ["extract.head_init=quantiles", "extract.distill=none"],
    "distilled": ["extract.head_init=quantiles", "extract.distill=coverage"],
}
NAME = "extraction_distill"
WHAT = ("test PSNR of sample field extraction to N_e = N/3, same steps: plain (the reference port: fresh head, "
        "photometric loss), start (extract.head_init=quantiles), distilled (head_init=quantiles + "
        "extract.distill=coverage, the cpu preset's)")


def run(command: list[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True, env={**os.environ, "JNEUSAMPLE_NO_RELAUNCH": "1"})


def eval_results(run_dir: Path, skip: int) -> dict:
    """``jneusample eval`` of a run's latest checkpoint (reused when it already evaluated that step)."""
    path = run_dir / "eval_test" / "results.json"
    latest = max(int(p.stem.split("_")[1]) for p in (run_dir / "checkpoints").glob("step_*.ckpt"))
    if not (path.exists() and json.loads(path.read_text()).get("step") == latest):
        run([sys.executable, "-m", "jneusample", "eval", "--run", str(run_dir), "--skip", str(skip),
             "--lpips", "none", "--no-images", "--no-progress"])
    return json.loads(path.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", default="lego", choices=sorted(PARENTS))
    parser.add_argument("--parent", default=None, help="parent run (default: the scene's pretrained run)")
    parser.add_argument("--samples", type=int, default=None, help="N_e (default: round(N/3))")
    parser.add_argument("--steps", type=int, default=1000, help="fine-tuning steps (the cpu preset's)")
    parser.add_argument("--variants", default="plain,start,distilled",
                        help="comma-separated names of built-in variants")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=KEY=VALUE[,KEY=VALUE]",
                        help="an extra variant: its name and --set overrides")
    parser.add_argument("--out", default="/tmp/distill", help="where the extracted runs go (not committed)")
    args = parser.parse_args()

    parent, skip = PARENTS[args.scene]
    parent = Path(args.parent) if args.parent else parent
    n = json.loads((parent / "config.json").read_text())["model"]["n_samples"]
    n_e = args.samples or max(2, round(n / 3))
    variants = {name: VARIANTS[name] for name in args.variants.split(",") if name}
    for item in args.variant:
        name, sets = item.split("=", 1)
        variants[name] = sets.split(",")
    parent_eval = eval_results(parent, skip)

    measured = {}
    for name, sets in variants.items():
        out = Path(args.out) / f"{args.scene}-n{n_e}-{name}"
        command = [sys.executable, "-m", "jneusample", "extract", "--run", str(parent), "--samples", str(n_e),
                   "--steps", str(args.steps), "--out", str(out), "--no-progress", "--set", "train.schedule=steps"]
        for item in sets:
            command += ["--set", item]
        started = time.time()
        with LoadMonitor() as load:
            if not (out / "checkpoints" / f"step_{args.steps:08d}.ckpt").exists():
                run(command + (["--resume"] if (out / "config.json").exists() else []))
        minutes = (time.time() - started) / 60
        child = eval_results(out, skip)
        measured[name] = {
            "set": sets, "n_e": n_e, "steps": child["step"], "psnr": child["psnr"], "ssim": child["ssim"],
            "db_lost": parent_eval["psnr"] - child["psnr"], "minutes": round(minutes, 1),
            "load_average": load.summary(), "command": " ".join(command[1:]),
        }
        print(f"{args.scene} {name}: {child['psnr']:.2f} dB (parent {parent_eval['psnr']:.2f})", flush=True)
    path = RESULTS / f"{NAME}.json"  # read now, not at the start: other invocations may have added rows since
    scenes = json.loads(path.read_text()).get("scenes", {}) if path.exists() else {}
    rows = scenes.setdefault(args.scene, {"variants": {}})
    rows.update({"parent": str(parent.relative_to(REPO)) if parent.is_relative_to(REPO) else str(parent), "n": n,
                 "parent_psnr": parent_eval["psnr"]})
    rows["variants"].update(measured)
    plain, distilled = rows["variants"].get("plain"), rows["variants"].get("distilled")
    if plain and distilled:
        rows["db_lost_ratio"] = distilled["db_lost"] / plain["db_lost"]
    write_result(NAME, {"what": WHAT,
                        "scenes": scenes})
    print(json.dumps(scenes[args.scene], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
