#!/usr/bin/env python3
"""Quality per minute of CPU: train a preset (plus overrides) for a wall-clock budget, evaluate, record.

    python benchmarks/learn_fast.py --scene demo --minutes 3 --variant cpu
    python benchmarks/learn_fast.py --scene lego --minutes 20 --variant cpu
    python benchmarks/learn_fast.py --scene lego --minutes 6 --variant no-softplus --set model.density_activation=relu
    python benchmarks/learn_fast.py --scene fern --steps 1500 --variant bf16 --set train.bf16_matmuls=true

Each call is one row: ``jneusample train --preset P --max-minutes M`` (a fresh process, Jittor's compile cache
warm) followed by ``jneusample eval`` (test split; every 8th view for lego, all held-out views otherwise). The
record (test PSNR/SSIM, steps, training points/s, validation PSNR against minutes, the exact commands, machine and
load average) is appended to ``benchmarks/results/learn_fast.json`` under its variant name and scene, so the
ablation table in docs/benchmarks.md and the PSNR-vs-minutes plot (``--plot``) are made from that file.
Scenes: ``demo`` (shipped 64x64), ``lego`` (factor 8, 100x100), ``fern`` (factor 8, 504x378), or a path.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, RESULTS, LoadMonitor, machine_info, strict  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
SCENES = {
    "demo": (str(REPO / "jneusample" / "assets" / "demo_scene"), 1, 1),
    "lego": (str(SHARED / "nerf_synthetic" / "lego"), 8, 8),
    "fern": (str(SHARED / "nerf_llff_data" / "fern"), 8, 1),
}


def read_curve(run_dir: Path) -> tuple[list[dict], list[dict]]:
    """(validation records, training records) from the run's metrics.jsonl."""
    lines = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines() if l.strip()]
    val = [{"step": l["step"], "minutes": round(l["elapsed_s"] / 60, 2), "val_psnr": round(l["val_psnr"], 2)}
           for l in lines if l.get("val_psnr") is not None]
    train = [l for l in lines if "loss" in l]
    return val, train


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", default="demo", help="demo, lego, fern, or a scene folder")
    parser.add_argument("--factor", type=int, default=None, help="downscale (default: per scene)")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--minutes", type=float, default=4.0, help="training budget (wall clock)")
    parser.add_argument("--steps", type=int, default=None,
                        help="train this many steps instead (train.schedule=steps): for comparisons at equal steps, "
                             "which the machine's load does not change")
    parser.add_argument("--variant", default=None, help="row name (default: the preset)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override key=value")
    parser.add_argument("--out", default="/tmp/learn_fast", help="where the runs go (not committed)")
    parser.add_argument("--run-dir", default=None,
                        help="the run's own folder (default: OUT/SCENE-VARIANT-TIME); scripts/make_pretrained.py "
                             "trains its lego and fern models through this script so that they are recorded too")
    parser.add_argument("--results", default=str(RESULTS / "learn_fast.json"))
    parser.add_argument("--tag", default="", help="free text stored with the row (e.g. which checkout)")
    parser.add_argument("--python", default=sys.executable, help="interpreter (another checkout's venv)")
    parser.add_argument("--repo", default=str(REPO), help="checkout whose jneusample to run (old vs new)")
    args = parser.parse_args()

    data, factor, skip = SCENES.get(args.scene, (args.scene, 1, 1))
    factor = args.factor or factor
    if not Path(data).exists():
        print(f"error: {data}: scene not found", file=sys.stderr)
        return 2
    variant = args.variant or args.preset
    run_dir = Path(args.run_dir or Path(args.out) / f"{Path(data).name}-{variant}-{int(time.time())}")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    log = run_dir.with_suffix(".log")
    sets = [x for o in args.overrides for x in ("--set", o)]
    budget = (["--steps", str(args.steps), "--set", "train.schedule=steps"] if args.steps
              else ["--max-minutes", str(args.minutes)])
    train_cmd = [args.python, "-m", "jneusample", "train", "--data", data, "--factor", str(factor), "--preset",
                 args.preset, *budget, "--out", str(run_dir), "--no-progress", *sets]
    eval_cmd = [args.python, "-m", "jneusample", "eval", "--run", str(run_dir), "--skip", str(skip),
                "--lpips", "none", "--split", "test"]
    env_repo = Path(args.repo)
    with LoadMonitor() as load:
        train_s = run_in(train_cmd, log, env_repo)
        eval_s = run_in(eval_cmd, log, env_repo)
    results = json.loads(next((run_dir).glob("eval_test*/results.json")).read_text())
    val, train = read_curve(run_dir)
    row = {"variant": variant, "scene": args.scene, "factor": factor, "preset": args.preset,
           "overrides": args.overrides, "minutes": None if args.steps else args.minutes,
           "budget_steps": args.steps, "tag": args.tag,
           "test_psnr": round(results["psnr"], 3), "test_ssim": round(results["ssim"], 4),
           "test_views": results["n_images"], "sec_per_image": round(results["sec_per_image"], 3),
           "steps": train[-1]["step"] if train else 0,
           "train_points_per_sec": round(train[-1]["points_per_sec"]) if train else None,
           "train_wall_s": round(train_s, 1), "eval_wall_s": round(eval_s, 1),
           "val_curve": val, "load_average": load.summary(), "commands": [" ".join(train_cmd), " ".join(eval_cmd)],
           "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "repo": str(env_repo)}
    path = Path(args.results)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:  # runs side by side append to one file
        fcntl.flock(lock, fcntl.LOCK_EX)
        store = json.loads(path.read_text()) if path.exists() else {"machine": machine_info(), "rows": []}
        store["machine"] = machine_info()
        store["rows"].append(row)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(strict(store), indent=1, allow_nan=False) + "\n")
        tmp.replace(path)
    print(json.dumps({k: row[k] for k in ("variant", "scene", "minutes", "test_psnr", "steps",
                                          "train_points_per_sec", "load_average")}))
    return 0


def run_in(cmd: list[str], log: Path, repo: Path) -> float:
    start = time.time()
    with open(log, "a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        subprocess.run(cmd, cwd=repo, check=True, stdout=out, stderr=subprocess.STDOUT)
    return time.time() - start


if __name__ == "__main__":
    sys.exit(main())
