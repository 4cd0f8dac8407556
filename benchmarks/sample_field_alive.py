#!/usr/bin/env python3
"""Does a trained sample field see the ray? Alive trunk features and the spread of its samples across rays.

    python benchmarks/sample_field_alive.py RUN [RUN ...] [--name LABEL ...]

For each run (latest checkpoint), the sample field maps 4096 training rays (a fixed draw) to their samples.
Reported: how many of the trunk's last-layer features are non-zero on at least one ray ("alive": a ReLU that is
zero on every ray passes no gradient and no information about the ray), and the standard deviation across rays
of each sample's position t ∈ [0, 1] (mean over the N samples). A field whose features are all dead puts the
same N positions on every ray: a learnt global placement, not a per-ray one. Also the share of samples within
1e-3 of the ray's ends and each sample's mean position: a field whose sigmoid outputs saturated ("collapsed")
has most samples at t = 0 or 1. And the own-vs-mean gap (``jneusample.evaluation.placement``): the test PSNR with each
ray's own samples minus with the field's mean placement given to every ray (what per-ray placement buys; every
``--skip``-th test view). Rows are merged by label into ``benchmarks/results/sample_field_alive.json``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))
from common import RESULTS, write_result  # noqa: E402

RAYS = 4096
NAME = "sample_field_alive"


def measure(run_dir: Path, skip: int = 8) -> dict:
    from jneusample.platform.backend import jt
    from jneusample.data import load_scene
    from jneusample.data.batches import RayBatcher
    from jneusample.platform.runs import load_run, read_scene_info
    from jneusample.samplers.collapse import samples_at_ends
    from jneusample.evaluation.placement import placement_study

    run = load_run(run_dir)
    info = read_scene_info(run_dir)
    scene = load_scene(info["data"], factor=run.config.data.factor, quiet=True,
                       allow_outside=bool(info.get("allow_outside_paths")))
    batch = RayBatcher(scene, RAYS, precrop_fraction=1.0, precrop_steps=0, seed=12345, stream=0,
                       across_views=True).sample(0)
    field = run.model.sampler.sample_field
    with jt.no_grad():
        origins = jt.array(batch.origins)
        directions = jt.array(batch.directions)
        unit_dirs = directions / jt.sqrt((directions * directions).sum(-1, keepdims=True))
        hidden = field.trunk_features(origins, unit_dirs).numpy()
        t = field.unit_samples(origins, unit_dirs).numpy()
    alive = int((hidden > 0).any(axis=0).sum())
    return {"run": str(run_dir), "step": run.step, "rays": RAYS, "trunk_features": int(hidden.shape[1]),
            "alive_features": alive, "sample_std_across_rays": float(t.std(axis=0).mean()),
            "samples_at_ends": samples_at_ends(t, 0.0, 1.0), "mean_t": [round(float(v), 4) for v in t.mean(axis=0)],
            "sample_field_init": run.config.model.sample_field_init,
            "sample_field_head": run.config.model.sample_field_head,
            "test_placement": {key: value for key, value in placement_study(run, "test", skip).items()
                               if key != "mean_t"}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directories")
    parser.add_argument("--name", action="append", default=[], help="label per run (default: the folder name)")
    parser.add_argument("--skip", type=int, default=8, help="every k-th test view for the own-vs-mean gap")
    parser.add_argument("--results-dir", default=None, help="where the JSON goes (default benchmarks/results)")
    args = parser.parse_args()
    if args.name and len(args.name) != len(args.runs):
        parser.error("give one --name per run, or none")
    results_dir = Path(args.results_dir) if args.results_dir else RESULTS
    path = results_dir / f"{NAME}.json"
    rows = json.loads(path.read_text()).get("runs", {}) if path.exists() else {}
    for index, run in enumerate(args.runs):
        label = args.name[index] if args.name else Path(run).name
        rows[label] = measure(Path(run), args.skip)
        print(label, json.dumps(rows[label]), flush=True)
    write_result(NAME, {"what": "alive sample-field trunk features (non-zero on some of 4096 training rays), the "
                                "std across rays of the sample positions t and the share of samples at the ray's "
                                "ends, and the test PSNR with each ray's own samples minus with the mean placement, per trained run",
                            "runs": rows},
                 results_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
