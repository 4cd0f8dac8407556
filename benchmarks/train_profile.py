#!/usr/bin/env python3
"""Where a training step's time goes: Jittor's op profiler over steps of the ``cpu`` preset on lego x8.

    python benchmarks/train_profile.py                  # one process, 512 rays/step, 20 profiled steps
    python benchmarks/train_profile.py --bf16           # also with train.bf16_matmuls

Runs the training step (sample field → radiance field → compositing → loss → Adam) in this process, once per
variant, alternating: ``plain`` (``JNEUSAMPLE_FUSED_LINEAR=0``: Jittor's own Linear + ReLU and its ReLU
backward), ``lean`` (the default: fused oneDNN forward, hand-written backward, ``fields/fused.py``) and, with
``--bf16``, ``lean+bf16``. Each variant runs in a fresh subprocess (the switch is read at import). Reports the
wall time per step, training points/s and the share of op time by category (matmuls, ReLU backward, encoding,
other), and writes ``benchmarks/results/train_profile.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, LoadMonitor, write_result  # noqa: E402

LEGO = REPO.parent / "shared" / "data" / "nerf_synthetic" / "lego"

_CHILD = r'''
import json, sys, time
from jneusample.platform.backend import jt
from jneusample.config import preset
from jneusample.data import load_scene
from jneusample.data.batches import RayBatcher
from jneusample.models.registry import build_model
from jneusample.training.optim import make_optimizer, param_groups
from jneusample.rendering import Rays, render_settings

data, rays, steps, bf16 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
config = preset("cpu")
config.data.factor = 8
config.train.rays_per_step = rays
scene = load_scene(data, factor=8, quiet=True)
model = build_model(config.model)
model.set_bf16_training(bf16)
optimizer = make_optimizer(param_groups(model, config))
batcher = RayBatcher(scene, rays, 0.5, 0, seed=0, stream=0, across_views=True)
settings = render_settings(scene, config, training=True)

def step(index):
    batch = batcher.sample(1000 + index)
    out = model(Rays.from_numpy(batch.origins, batch.directions, batch.view_dirs), settings)
    optimizer.step(model.loss(out, jt.array(batch.target)))
    jt.sync_all(True)

for index in range(5):  # compile and warm up
    step(index)
start = time.time()
for index in range(steps):
    step(index)
seconds = (time.time() - start) / steps
jt.profiler.start(0, 0)
for index in range(steps):
    step(index)
jt.profiler.stop()
report = jt.profiler.report()
header, rows = report[0], report[1:]
name_at, time_at = header.index("Name"), header.index("TotalTime")
shares = {}
for row in rows:
    name, t = row[name_at], float(row[time_at])
    if "mkl_matmul" in name or "dnnl" in name:
        key = "matmuls (oneDNN)"
    elif "ternary" in name and "Tc:bool" in name:
        key = "ReLU backward (ternary on a mask)"
    elif "OP:greater" in name and "OP:multiply" in name:
        key = "ReLU backward (mask product)"
    elif "OP:sin" in name or "OP:cos" in name:
        key = "positional encoding (sin/cos)"
    else:
        key = "other ops"
    shares[key] = shares.get(key, 0.0) + t
total = sum(shares.values())
print(json.dumps({"sec_per_step": seconds, "points_per_sec": rays * config.model.n_samples / seconds,
                  "op_time_share": {k: round(v / total, 3) for k, v in sorted(shares.items())},
                  "op_seconds_per_step": total / 1e9 / steps}))
'''


def run_variant(name: str, rays: int, steps: int) -> dict:
    env = dict(os.environ, JNEUSAMPLE_NO_RELAUNCH="1")
    env["JNEUSAMPLE_FUSED_LINEAR"] = "0" if name == "plain" else "1"
    bf16 = "1" if name.endswith("bf16") else "0"
    out = subprocess.run([sys.executable, "-c", _CHILD, str(LEGO), str(rays), str(steps), bf16], cwd=REPO, env=env,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rays", type=int, default=512, help="rays per step (one process)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps, then as many profiled")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the variants (alternating)")
    parser.add_argument("--bf16", action="store_true", help="also profile train.bf16_matmuls")
    parser.add_argument("--results", default=None, help="folder for the JSON (default benchmarks/results)")
    args = parser.parse_args()
    if not LEGO.exists():
        print(f"error: {LEGO}: lego scene not found", file=sys.stderr)
        return 2
    variants = ["plain", "lean"] + (["lean+bf16"] if args.bf16 else [])
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    with LoadMonitor() as load:
        for _ in range(args.rounds):
            for variant in variants:
                runs[variant].append(run_variant(variant, args.rays, args.steps))
                print(variant, json.dumps(runs[variant][-1]), flush=True)
    best = {v: min(rs, key=lambda r: r["sec_per_step"]) for v, rs in runs.items()}
    summary = {
        "what": "one training step of the cpu preset on lego x8 (one process), by variant; op_time_share from "
                "Jittor's profiler",
        "rays_per_step": args.rays, "steps": args.steps, "rounds": args.rounds, "runs": runs,
        "best": best,
        "speedup_vs_plain": {v: round(best["plain"]["sec_per_step"] / best[v]["sec_per_step"], 3) for v in best},
        "load_average": load.summary(),
    }
    path = write_result("train_profile", summary, Path(args.results) if args.results else None)
    print(json.dumps(summary["speedup_vs_plain"]))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
