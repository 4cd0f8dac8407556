"""Test PSNR per N of any-N models (and paper-head controls) at equal steps, per training lever, from run folders.

    python benchmarks/any_n_levers.py --scene lego base=/work/abruns/lego-base h01pts=/work/abruns/lego-h01pts

Each run: ``train --preset cpu --factor 8 --steps S --set train.schedule=steps`` with the any-N overrides
(quantile head, ``samples_choices=8,16,32,64``, ``n_samples=32``) plus the lever's ``--set``, then ``eval --samples
N`` at each N (a paper-head control: ``n_samples=N``, one ``eval``). Rows (levers from config.json, steps, last
validation PSNR, test PSNR per N) are merged by scene and name into ``benchmarks/results/any_n_levers.json``.
"""
from __future__ import annotations

import json
from pathlib import Path

import harness as h

SPEC = h.Spec("any_n_levers", __doc__)
KEYS = ("model.sample_field_head", "model.n_samples", "model.sample_field_histogram_loss",
        "model.sample_field_histogram_uniform", "model.samples_choices_share", "model.sample_field_jitter",
        "model.interval_encoding", "train.sample_field_lr_scale")


def row(run_dir: Path) -> dict:
    config = json.loads((run_dir / "config.json").read_text())
    config = config.get("config", config)
    by_n = {}
    for path in run_dir.glob("eval_test*/results.json"):  # eval_test: a paper-head run at its own N
        results = json.loads(path.read_text())
        by_n[str(results["points_per_ray"])] = round(results["psnr"], 3)
    val = json.loads((run_dir / "checkpoints" / "val.json").read_text())
    last = max(val.items(), key=lambda item: int(item[0])) if isinstance(val, dict) else None
    return {"run": str(run_dir), "levers": {k: config.get(k.split(".")[0], {}).get(k.split(".")[1]) for k in KEYS},
            "steps": h.latest_step(run_dir), "last_val": last[1] if last else None,
            "test_psnr_by_n": dict(sorted(by_n.items(), key=lambda item: int(item[0])))}


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("--scene", required=True)
    parser.add_argument("runs", nargs="+", metavar="NAME=DIR")
    args = SPEC.parse(parser, argv)
    rows = {name: row(Path(folder)) for name, folder in (r.split("=", 1) for r in args.runs)}
    scenes = {}

    def update(stored: dict) -> dict:  # rows of other runs of the scene are kept
        scenes.update(stored.get("scenes", {}))
        scenes[args.scene] = {**scenes.get(args.scene, {}), **rows}
        return {"scenes": scenes}

    SPEC.write(args, update)
    print(json.dumps(scenes[args.scene], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
