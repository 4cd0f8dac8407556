#!/usr/bin/env python3
"""Training throughput of ``train --preset cpu`` on lego x8: this checkout against an older one, side by side.

    python benchmarks/train_throughput.py                      # old = the commit before this round's work
    python benchmarks/train_throughput.py --old-ref 8f69fa3 --steps 60 --rounds 2
    python benchmarks/train_throughput.py --steps 200 --rounds 3 --variant fp32=train.bf16_matmuls=false

The old code is checked out with ``git worktree`` into a temporary folder and run from there (``python -m
jneusample`` imports the package of the working directory), so both use the same Python, Jittor and compile cache.
Runs alternate old, new, old, new … so that load changes on a shared machine hit both alike. Points/s are taken
between the first and the last logged step of each run (the first steps, which compile kernels, are excluded),
summed over MPI ranks. The fraction of the sgemm ceiling counts 3x the executed forward MLP FLOPs per point
(forward + the two backward matmuls), against ``jt.matmul`` on 2048² float32 measured in the same script.
Writes ``benchmarks/results/train_throughput.json``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, LoadMonitor, write_result  # noqa: E402

LEGO = REPO.parent / "shared" / "data" / "nerf_synthetic" / "lego"


def steady_rate(run_dir: Path) -> dict:
    """Training points/s and steps/s between the first and last logged step (compile excluded)."""
    lines = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines() if '"loss"' in l]
    config = json.loads((run_dir / "config.json").read_text())
    first, last = lines[0], lines[-1]
    seconds = last["elapsed_s"] - first["elapsed_s"]
    rays = last.get("effective_rays_per_step", config["train"]["rays_per_step"])
    points_per_ray = config["model"]["n_samples"]
    steps = last["step"] - first["step"]
    return {"steps_timed": steps, "seconds": round(seconds, 2), "rays_per_step": rays,
            "world_size": last.get("world_size", 1),
            "points_per_sec": round(steps * rays * points_per_ray / seconds),
            "steps_per_sec": round(steps / seconds, 3)}


def train_once(repo: Path, steps: int, out: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "jneusample", "train", "--data", str(LEGO), "--factor", "8", "--preset", "cpu",
           "--steps", str(steps), "--out", str(out), "--no-progress",
           "--set", "train.log_every=5", "--set", "train.validate_every=0", "--set", f"train.checkpoint_every={steps}",
           *extra]
    subprocess.run(cmd, cwd=repo, check=True, capture_output=True, text=True)
    return steady_rate(out)


def sgemm_ceiling() -> float:
    code = ("from jneusample.platform.backend import jt; from jneusample.evaluation.benchmark import sgemm_gflops; "
            "sgemm_gflops(jt); print(max(sgemm_gflops(jt) for _ in range(3)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def training_flops_per_point(config_json: Path) -> float:
    """3 x the executed forward MLP FLOPs per radiance point of the run's model (sample field included)."""
    code = ("import json, sys; from jneusample.config import Config; from jneusample.models.registry import build_model; "
            "from jneusample.evaluation.benchmark import flops_per_ray; c = Config.from_dict(json.load(open(sys.argv[1]))); "
            "m = build_model(c.model); print(3 * flops_per_ray(m, executed=True) / m.points_per_ray)")
    out = subprocess.run([sys.executable, "-c", code, str(config_json)], cwd=REPO, check=True, capture_output=True,
                         text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-ref", default="8f69fa3", help="git ref of the old code")
    parser.add_argument("--steps", type=int, default=60, help="steps per run (the first logged 5 are excluded)")
    parser.add_argument("--rounds", type=int, default=2, help="old/new pairs")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=KEY=VALUE[,KEY=VALUE]",
                        help="also run this checkout with these --set overrides, as its own row (alternating with "
                             "the others), e.g. fp32=train.bf16_matmuls=false")
    parser.add_argument("--results", default=None, help="folder for the JSON (default benchmarks/results)")
    args = parser.parse_args()
    if not LEGO.exists():
        print(f"error: {LEGO}: lego scene not found", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="throughput_"))
    # the runs' folders stay until the FLOPs are read from their configs
    old_repo = work / "old"
    subprocess.run(["git", "worktree", "add", "--detach", str(old_repo), args.old_ref], cwd=REPO, check=True,
                   capture_output=True)
    plans = [("old", old_repo, []), ("new", REPO, [])]
    for text in args.variant:
        name, _, sets = text.partition("=")
        if not name or not sets or name in ("old", "new"):
            parser.error(f"--variant {text!r}: expected NAME=KEY=VALUE[,KEY=VALUE] with a new name")
        plans.append((name, REPO, [x for item in sets.split(",") for x in ("--set", item)]))
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in plans}
    try:
        with LoadMonitor() as load:
            ceiling = sgemm_ceiling()
            for round_index in range(args.rounds):
                for name, repo, extra in plans:
                    rate = train_once(repo, args.steps, work / f"{name}{round_index}", extra)
                    runs[name].append(rate)
                    print(name, rate, flush=True)
            ceiling = max(ceiling, sgemm_ceiling())
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(old_repo)], cwd=REPO, capture_output=True)
    best = {name: max(r["points_per_sec"] for r in rates) for name, rates in runs.items()}
    flops = {name: training_flops_per_point(work / f"{name}0" / "config.json") for name in runs}
    summary = {
        "old_ref": args.old_ref, "steps": args.steps, "rounds": args.rounds, "runs": runs,
        "variants": {name: extra for name, _, extra in plans},
        "points_per_sec_best": best, "speedup": round(best["new"] / best["old"], 3),
        "speedup_by_variant": {name: round(best[name] / best["old"], 3) for name in best},
        "sgemm_gflops": round(ceiling, 1),
        "training_mflop_per_point": {name: round(flops[name] / 1e6, 4) for name in flops},
        "fraction_of_sgemm": {name: round(best[name] * flops[name] / 1e9 / ceiling, 3) for name in best},
        "load_average": load.summary(),
    }
    path = write_result("train_throughput", summary, Path(args.results) if args.results else None)
    print(json.dumps({k: summary[k] for k in ("points_per_sec_best", "speedup", "fraction_of_sgemm")}))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
