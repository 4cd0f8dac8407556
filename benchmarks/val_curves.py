"""Validation PSNR against steps and minutes of training, read from finished runs' metrics.jsonl.

    python benchmarks/val_curves.py LABEL=RUN [LABEL=RUN ...]

Each run's validation records (step, minutes of this invocation's training, validation PSNR) and the step and
PSNR of its best one, merged by label into ``benchmarks/results/val_curves.json``: the curves behind what the
docs say about how a run trained (a dip, a plateau), since run folders are not committed.
"""
from __future__ import annotations

import json
from pathlib import Path

import harness as h

SPEC = h.Spec("val_curves", __doc__)


def curve(run_dir: Path) -> dict:
    points = h.val_curve(run_dir)
    if not points:
        raise SystemExit(f"error: {run_dir / 'metrics.jsonl'}: no validation records")
    best = max(points, key=lambda point: point["val_psnr"])
    return {"run": str(run_dir), "best_step": best["step"], "best_val_psnr": best["val_psnr"],
            "last_step": points[-1]["step"], "last_val_psnr": points[-1]["val_psnr"], "curve": points}


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("runs", nargs="+", metavar="LABEL=RUN")
    args = SPEC.parse(parser, argv)
    if any("=" not in item for item in args.runs):
        parser.error("give each run as LABEL=RUN")
    runs = {label: curve(Path(folder)) for label, folder in (item.split("=", 1) for item in args.runs)}
    SPEC.write(args, lambda stored: {"runs": {**stored.get("runs", {}), **runs}})
    for label, row in runs.items():
        print(f"{label}: best {row['best_val_psnr']} dB at step {row['best_step']}, last {row['last_val_psnr']} "
              f"at step {row['last_step']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
