#!/usr/bin/env python3
"""Collect equal-steps A/Bs of the any-N model's training levers into ``benchmarks/results/any_n_levers.json``.

Each run is one any-N model (``--preset cpu --factor 8 --steps S --set train.schedule=steps --set
model.sample_field_head=quantile --set model.samples_choices=8,16,32,64 --set model.n_samples=32`` plus the
lever's ``--set``), evaluated with ``jneusample eval --run DIR --skip 8 --lpips none --no-images --samples N`` at
N = 8, 16, 32, 64 (results in ``DIR/eval_test_nN/results.json``):

    python benchmarks/any_n_levers.py --scene lego base=/work/abruns/lego-base h01pts=/work/abruns/lego-h01pts

A paper-head control (a dedicated model: ``--set model.n_samples=N`` instead of the quantile-head overrides,
evaluated once without ``--samples``, results in ``DIR/eval_test/results.json``) is collected the same way.

Rows: the run's overrides (read from its config.json against the cpu preset), steps, validation PSNR at its
last checkpoint, test PSNR per N. Runs of one scene were trained side by side (equal steps: their wall time is
not compared).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write_result  # noqa: E402

KEYS = ("model.sample_field_head", "model.n_samples", "model.sample_field_histogram_loss",
        "model.sample_field_histogram_uniform", "model.samples_choices_share", "model.sample_field_jitter",
        "model.interval_encoding", "train.sample_field_lr_scale")


def row(run_dir: Path) -> dict:
    config = json.loads((run_dir / "config.json").read_text())
    config = config.get("config", config)
    by_n = {}
    for path in sorted(run_dir.glob("eval_test*/results.json")):  # eval_test: a paper-head run at its own N
        results = json.loads(path.read_text())
        by_n[str(results["points_per_ray"])] = round(results["psnr"], 3)
    val = json.loads((run_dir / "checkpoints" / "val.json").read_text())
    last = max(val.items(), key=lambda item: int(item[0])) if isinstance(val, dict) else None
    levers = {}
    for key in KEYS:
        section, name = key.split(".")
        levers[key] = config.get(section, {}).get(name)
    return {"run": str(run_dir), "levers": levers,
            "steps": max(int(p.stem.split("_")[1]) for p in (run_dir / "checkpoints").glob("step_*.ckpt")),
            "last_val": last[1] if last else None,
            "test_psnr_by_n": dict(sorted(by_n.items(), key=lambda item: int(item[0])))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", required=True)
    parser.add_argument("runs", nargs="+", metavar="NAME=DIR")
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="where any_n_levers.json is merged into")
    args = parser.parse_args(argv)
    path = args.results_dir / "any_n_levers.json"
    scenes = json.loads(path.read_text()).get("scenes", {}) if path.exists() else {}
    scenes.setdefault(args.scene, {}).update(  # rows of other runs of the scene are kept
        {name: row(Path(directory)) for name, directory in (r.split("=", 1) for r in args.runs)})
    write_result("any_n_levers", {"what": "any-N models (quantile head, choices 8,16,32,64) and paper-head controls, "
                                          "cpu preset, lego and fern x8, the demo scene at 64x64, equal steps: test "
                                          "PSNR per N for each training lever", "scenes": scenes},
                 args.results_dir)
    print(json.dumps(scenes[args.scene], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
