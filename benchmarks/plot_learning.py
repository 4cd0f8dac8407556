#!/usr/bin/env python3
"""Validation PSNR against minutes of training, one curve per (scene, variant), from learn_fast.json.

    python benchmarks/plot_learning.py                       # all scenes, the newest row of each variant
    python benchmarks/plot_learning.py --variants old,cpu --out docs/images/learning_curves.png

The rows come from ``benchmarks/learn_fast.py`` runs (validation every few hundred steps on 4 val views; the
final point is the test PSNR at the end of the budget, drawn as a marker).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, RESULTS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=str(RESULTS / "learn_fast.json"))
    parser.add_argument("--variants", default="", help="comma-separated variant names (default: all)")
    parser.add_argument("--scenes", default="", help="comma-separated scenes (default: all)")
    parser.add_argument("--min-minutes", type=float, default=0.0, help="only rows with at least this budget")
    parser.add_argument("--before", action="append", default=[],
                        help="SCENE=LABEL=metrics.jsonl: a curve from a run's own log (e.g. the old preset's run, "
                             "whose metrics the repository keeps under benchmarks/results/)")
    parser.add_argument("--out", default=str(REPO / "docs" / "images" / "learning_curves.png"))
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = json.loads(Path(args.results).read_text())["rows"]
    wanted_variants = [v for v in args.variants.split(",") if v]
    wanted_scenes = [s for s in args.scenes.split(",") if s]
    newest: dict[tuple[str, str], dict] = {}
    for row in rows:  # the newest row of each (scene, variant) wins
        if wanted_variants and row["variant"] not in wanted_variants:
            continue
        if wanted_scenes and row["scene"] not in wanted_scenes:
            continue
        if row.get("minutes") is None or row["minutes"] < args.min_minutes:
            continue  # equal-steps rows (learn_fast.py --steps) have no time budget to plot against
        newest[(row["scene"], row["variant"])] = row
    before: dict[str, list[tuple[str, list[float], list[float]]]] = {}
    for item in args.before:
        scene, label, path = item.split("=", 2)
        lines = [json.loads(l) for l in Path(path).read_text().splitlines() if l.strip()]
        points = [(l["elapsed_s"] / 60, l["val_psnr"]) for l in lines if l.get("val_psnr") is not None]
        before.setdefault(scene, []).append((label, [m for m, _ in points], [v for _, v in points]))
    scenes = sorted({scene for scene, _ in newest})
    if not scenes:
        print("error: no matching rows", file=sys.stderr)
        return 2
    figure, axes = plt.subplots(1, len(scenes), figsize=(4.2 * len(scenes), 3.4), squeeze=False)
    for axis, scene in zip(axes[0], scenes):
        for (row_scene, variant), row in sorted(newest.items()):
            if row_scene != scene:
                continue
            minutes = [0.0] + [p["minutes"] for p in row["val_curve"]]
            psnr = [None] + [p["val_psnr"] for p in row["val_curve"]]
            line, = axis.plot(minutes[1:], psnr[1:], marker=".", label=f"{variant} ({row['test_psnr']:.1f} dB test)")
            axis.scatter([row["minutes"]], [row["test_psnr"]], color=line.get_color(), marker="*", s=80, zorder=3)
        for label, minutes, psnr in before.get(scene, []):
            axis.plot(minutes, psnr, marker=".", linestyle="--", color="grey", label=label)
        axis.set_title(f"{scene} (x{newest[next(k for k in newest if k[0] == scene)]['factor']})")
        axis.set_xlabel("minutes of training (2 CPU cores)")
        axis.set_ylabel("validation PSNR (dB)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
