"""Where a training step's time goes: Jittor's op profiler over steps of the ``cpu`` preset on lego x8.

    python benchmarks/train_profile.py [--bf16]          # one process, 512 rays/step, 20 profiled steps

Per variant, alternating, each in a fresh process (the switch is read at import): ``plain``
(``JNEUSAMPLE_FUSED_LINEAR=0``: Jittor's Linear + ReLU), ``lean`` (fused oneDNN forward, hand-written backward)
and with ``--bf16`` ``lean+bf16``: seconds per step, points/s and the share of op time by category.
"""
from __future__ import annotations

import json
import sys

import harness as h

SPEC = h.Spec("train_profile", __doc__, repeats=2)
LEGO = h.SCENES["lego"][0]

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
    env = {"JNEUSAMPLE_NO_RELAUNCH": "1", "JNEUSAMPLE_FUSED_LINEAR": "0" if name == "plain" else "1"}
    out = h.run([sys.executable, "-c", _CHILD, str(LEGO), str(rays), str(steps), "1" if name.endswith("bf16") else "0"],
                env=env, capture=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("--rays", type=int, default=512, help="rays per step (one process)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps, then as many profiled")
    parser.add_argument("--bf16", action="store_true", help="also profile train.bf16_matmuls")
    args = SPEC.parse(parser, argv)
    h.need(LEGO)
    variants = ["plain", "lean"] + (["lean+bf16"] if args.bf16 else [])
    with h.Alone("train_profile", processes=1) as load:
        runs = h.alternate({v: lambda v=v: run_variant(v, args.rays, args.steps) for v in variants}, args.repeats)
    best = {v: min(rs, key=lambda r: r["sec_per_step"]) for v, rs in runs.items()}
    speedup = {v: round(best["plain"]["sec_per_step"] / best[v]["sec_per_step"], 3) for v in best}
    SPEC.write(args, {"rays_per_step": args.rays, "steps": args.steps, "rounds": args.repeats, "runs": runs,
                      "best": best, "speedup_vs_plain": speedup, "load_average": load.summary()})
    print(json.dumps(speedup))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
