#!/usr/bin/env python3
"""Test PSNR against N and against seconds per image, per scene, from benchmarks/results/any_n.json.

    python benchmarks/plot_any_n.py                      # → docs/images/any_n.png

One row of panels per scene: left, PSNR against the samples per ray N of the one any-N model (quantile head,
evaluated at every N), the dedicated models (one trained per N) and the extracted ones (a parent at the trained N
fine-tuned to N, parent and extraction within the same wall clock); right, the same points against the seconds
one test image took to render.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, RESULTS  # noqa: E402

SERIES = (("any", "one any-N model{any_set}", "o", "-"), ("dedicated", "dedicated (trained at N)", "s", "--"),
          ("extracted", "extracted from N = {trained}", "^", ":"))


def points(scene: dict, group: str) -> list[tuple[int, float, float]]:
    """(N, PSNR, seconds per image) of one series, ascending in N."""
    rows = scene["any"]["by_n"] if group == "any" else scene.get(group, {})
    return sorted((int(n), row["psnr"], row["sec_per_image"]) for n, row in rows.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=str(RESULTS / "any_n.json"))
    parser.add_argument("--out", default=str(REPO / "docs" / "images" / "any_n.png"))
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenes = json.loads(Path(args.results).read_text())["scenes"]
    names = [name for name in ("lego", "fern", "demo") if name in scenes] + sorted(
        name for name in scenes if name not in ("lego", "fern", "demo"))
    figure, axes = plt.subplots(len(names), 2, figsize=(10, 3.6 * len(names)), squeeze=False)
    for row, name in zip(axes, names):
        scene = scenes[name]
        trained = scene["any"].get("trained_n")
        for group, label, marker, style in SERIES:
            series = points(scene, group)
            if not series:
                continue
            n, psnr, seconds = zip(*series)
            label = label.format(trained=trained, any_set="".join(
                f", {item.split('.')[-1]}" for item in scene.get("any_set", [])))
            row[0].plot(n, psnr, marker=marker, linestyle=style, label=label)
            row[1].plot(seconds, psnr, marker=marker, linestyle=style, label=label)
        row[0].set_xscale("log", base=2)
        row[0].set_xticks(sorted({n for group, *_ in SERIES for n, _, _ in points(scene, group)}))
        row[0].get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        row[0].set_xlabel("samples per ray N")
        row[1].set_xlabel("seconds per test image (2 CPU cores)")
        for axis in row:
            axis.set_ylabel("test PSNR (dB)")
            axis.grid(alpha=0.3)
        levers = ", ".join(item.split(".")[-1] for item in scene.get("every_model_set", []))
        row[0].set_title(f"{name}: {scene.get('budget', '')} per model, {scene.get('preset', '')} preset"
                         + (f" + {levers}" if levers else ""), fontsize=10)
        row[0].legend(fontsize=8)
    figure.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
