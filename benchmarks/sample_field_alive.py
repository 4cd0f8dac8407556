"""Does a trained sample field see the ray? Alive trunk features and the spread of its samples across rays.

    python benchmarks/sample_field_alive.py RUN [RUN ...] [--label LABEL ...]

Per run (latest checkpoint), on 4096 training rays (a fixed draw): the trunk's last-layer features non-zero on
some ray ("alive"; a dead field puts the same N samples on every ray), the std across rays of each sample's
position t ∈ [0, 1], the share of samples within 1e-3 of the ray's ends (a collapsed field's sigmoid outputs
saturate), and ``jneusample.evaluation.placement``'s own-vs-mean gap on every ``--skip``-th test view. Merged by
label.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import harness as h

SPEC = h.Spec("sample_field_alive", __doc__)
RAYS = 4096


def measure(run_dir: Path, skip: int = 8) -> dict:
    from jneusample.platform.backend import jt
    from jneusample.data import load_scene
    from jneusample.data.batches import RayBatcher
    from jneusample.platform.runs import load_run, read_scene_info
    from jneusample.samplers.collapse import samples_at_ends
    from jneusample.evaluation.placement import placement_study

    run = load_run(run_dir)
    info = read_scene_info(run_dir)
    scene = load_scene(info.data, factor=run.config.data.factor, quiet=True,
                       allow_outside=info.allow_outside_paths)
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


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("runs", nargs="+", help="run directories")
    parser.add_argument("--label", action="append", default=[], help="label per run (default: the folder name)")
    parser.add_argument("--skip", type=int, default=8, help="every k-th test view for the own-vs-mean gap")
    args = SPEC.parse(parser, argv)
    if args.label and len(args.label) != len(args.runs):
        parser.error("give one --label per run, or none")
    rows = {}
    for index, run in enumerate(args.runs):
        label = args.label[index] if args.label else Path(run).name
        rows[label] = measure(Path(run), args.skip)
        print(label, json.dumps(rows[label]), flush=True)
    SPEC.write(args, lambda stored: {"runs": {**stored.get("runs", {}), **rows}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
