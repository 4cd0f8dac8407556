"""Training points/s of ``train --preset cpu`` on lego x8: this checkout against an older one (and variants).

    python benchmarks/train_throughput.py --steps 200 --rounds 3 --variant fp32=train.bf16_matmuls=false

The old code (``--old-ref``) is checked out with ``git worktree`` and run from there, with the same Python, Jittor
and compile cache; runs alternate old, new, … so that load changes hit both alike. Rates between the first and
last logged step (compile excluded), summed over ranks; the fraction of the sgemm ceiling counts 3x the executed
forward MLP FLOPs per point against ``jt.matmul`` on 2048² float32 measured in the same run.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import harness as h

SPEC = h.Spec("train_throughput", __doc__, repeats=2)
LEGO = h.SCENES["lego"][0]


def train_once(repo: Path, steps: int, out: Path, extra: list[str]) -> dict:
    """Training points/s and steps/s between the first and last logged step (compile excluded)."""
    h.jneusample(["train", "--data", str(LEGO), "--factor", "8", "--preset", "cpu", "--steps", str(steps), "--out",
                  str(out), "--no-progress", "--set", "train.log_every=5", "--set", "train.validate_every=0",
                  "--set", f"train.checkpoint_every={steps}", *extra], cwd=repo, capture=True)
    lines, config = h.metrics(out), json.loads((out / "config.json").read_text())
    first, last = lines[0], lines[-1]
    seconds, steps = last["elapsed_s"] - first["elapsed_s"], last["step"] - first["step"]
    rays = last.get("effective_rays_per_step", config["train"]["rays_per_step"])
    return {"steps_timed": steps, "seconds": round(seconds, 2), "rays_per_step": rays,
            "world_size": last.get("world_size", 1),
            "points_per_sec": round(steps * rays * config["model"]["n_samples"] / seconds),
            "steps_per_sec": round(steps / seconds, 3)}


def python(code: str, *args: str) -> float:
    return float(h.run([sys.executable, "-c", code, *args], capture=True).stdout.strip().splitlines()[-1])


SGEMM = ("from jneusample.platform.backend import jt; from jneusample.evaluation.benchmark import sgemm_gflops; "
         "sgemm_gflops(jt); print(max(sgemm_gflops(jt) for _ in range(3)))")
FLOPS = ("import json, sys; from jneusample.config import Config; from jneusample.models.registry import build_model; "
         "from jneusample.evaluation.benchmark import flops_per_ray; "
         "c = Config.from_dict(json.load(open(sys.argv[1]))); m = build_model(c.model); "
         "print(3 * flops_per_ray(m, executed=True) / m.points_per_ray)")
"""3 x the executed forward MLP FLOPs per radiance point of a run's model (sample field included)."""


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("--old-ref", default="8f69fa3", help="git ref of the old code")
    parser.add_argument("--steps", type=int, default=60, help="steps per run (the first logged 5 are excluded)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=KEY=VALUE[,KEY=VALUE]",
                        help="also run this checkout with these --set overrides, as its own row (alternating with "
                             "the others), e.g. fp32=train.bf16_matmuls=false")
    args = SPEC.parse(parser, argv)
    h.need(LEGO)
    work = Path(tempfile.mkdtemp(prefix="throughput_"))  # the runs stay until the FLOPs are read from their configs
    old_repo = work / "old"
    plans = {"old": (old_repo, []), "new": (h.REPO, [])}
    for text in args.variant:
        name, _, sets = text.partition("=")
        if not name or not sets or name in plans:
            parser.error(f"--variant {text!r}: expected NAME=KEY=VALUE[,KEY=VALUE] with a new name")
        plans[name] = (h.REPO, h.sets(sets.split(",")))
    counter = {name: 0 for name in plans}

    def measure(name: str) -> dict:
        counter[name] += 1
        return train_once(plans[name][0], args.steps, work / f"{name}{counter[name] - 1}", plans[name][1])

    h.run(["git", "worktree", "add", "--detach", str(old_repo), args.old_ref], capture=True)
    try:
        with h.Alone("train_throughput") as load:
            ceiling = python(SGEMM)
            runs = h.alternate({name: lambda name=name: measure(name) for name in plans}, args.repeats)
            ceiling = max(ceiling, python(SGEMM))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(old_repo)], cwd=h.REPO, capture_output=True)
    best = {name: max(r["points_per_sec"] for r in rates) for name, rates in runs.items()}
    flops = {name: python(FLOPS, str(work / f"{name}0" / "config.json")) for name in runs}
    summary = {"old_ref": args.old_ref, "steps": args.steps, "rounds": args.repeats, "runs": runs,
               "variants": {name: extra for name, (_, extra) in plans.items()},
               "points_per_sec_best": best, "speedup": round(best["new"] / best["old"], 3),
               "speedup_by_variant": {name: round(best[name] / best["old"], 3) for name in best},
               "sgemm_gflops": round(ceiling, 1),
               "training_mflop_per_point": {name: round(flops[name] / 1e6, 4) for name in flops},
               "fraction_of_sgemm": {name: round(best[name] * flops[name] / 1e9 / ceiling, 3) for name in best},
               "load_average": load.summary()}
    SPEC.write(args, summary)
    print(json.dumps({k: summary[k] for k in ("points_per_sec_best", "speedup", "fraction_of_sgemm")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
