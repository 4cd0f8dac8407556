#!/usr/bin/env python3
"""Paired differences between two variants of benchmarks/results/equal_steps.json, per scene and seed.

    python benchmarks/compare_equal_steps.py --name bf16 --base cpu-1000-sflr0.25 --other cpu-1000-sflr0.25-bf16 \\
        [--exclude demo:seed2]

Rows are paired by scene and seed: variant ``V`` is seed 0, ``V-seedK`` seed K. Reports each pair's test-PSNR
difference (other − base), the mean over all pairs and per scene. ``--exclude SCENE:seedK`` leaves a pair out
(say why in the docs, e.g. a run whose sample field collapsed). Merged under ``--name`` into
``benchmarks/results/equal_steps_compare.json``.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write_result  # noqa: E402

NAME = "equal_steps_compare"


def by_scene_seed(rows: list[dict], variant: str) -> dict[tuple[str, int], float]:
    """{(scene, seed): test PSNR} of ``variant`` (seed 0) and ``variant-seedK``; the newest row wins."""
    found = {}
    pattern = re.compile(re.escape(variant) + r"(?:-seed(\d+))?$")
    for row in rows:
        match = pattern.fullmatch(row["variant"])
        if match:
            found[(row["scene"], int(match.group(1) or 0))] = float(row["test_psnr"])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help="label of this comparison in the results file")
    parser.add_argument("--base", required=True, help="variant name of the baseline (its seed-0 row)")
    parser.add_argument("--other", required=True, help="variant name compared with it")
    parser.add_argument("--exclude", action="append", default=[], metavar="SCENE:seedK", help="pairs to leave out")
    parser.add_argument("--results", default=str(RESULTS / "equal_steps.json"))
    args = parser.parse_args()
    rows = json.loads(Path(args.results).read_text())["rows"]
    base, other = by_scene_seed(rows, args.base), by_scene_seed(rows, args.other)
    excluded = {(s.split(":")[0], int(s.split(":seed")[1])) for s in args.exclude}
    pairs = sorted(k for k in base.keys() & other.keys() if k not in excluded)
    if not pairs:
        parser.error(f"no (scene, seed) has both {args.base!r} and {args.other!r}")
    diffs = {f"{scene}:seed{seed}": round(other[(scene, seed)] - base[(scene, seed)], 3) for scene, seed in pairs}
    scenes = sorted({scene for scene, _ in pairs})
    per_scene = {scene: round(sum(v for k, v in diffs.items() if k.startswith(scene + ":")) /
                              sum(1 for k in diffs if k.startswith(scene + ":")), 3) for scene in scenes}
    summary = {"base": args.base, "other": args.other, "excluded": sorted(args.exclude), "pairs": len(pairs),
               "difference": diffs, "mean_difference": round(sum(diffs.values()) / len(diffs), 3),
               "mean_difference_per_scene": per_scene,
               "base_mean_per_scene": {s: round(sum(base[k] for k in pairs if k[0] == s) /
                                                sum(1 for k in pairs if k[0] == s), 3) for s in scenes}}
    path = Path(RESULTS) / f"{NAME}.json"
    store = json.loads(path.read_text()).get("comparisons", {}) if path.exists() else {}
    store[args.name] = summary
    write_result(NAME, {"what": "paired test-PSNR differences (other - base) of equal_steps.json variants",
                        "comparisons": store})
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
