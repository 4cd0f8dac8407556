"""Paired test-PSNR differences between two variants of benchmarks/results/equal_steps.json, per scene and seed.

    python benchmarks/compare_equal_steps.py --label bf16 --base cpu-1000-sflr0.25 --other cpu-1000-sflr0.25-bf16 \\
        [--exclude demo:seed2]

Rows are paired by scene and seed: variant ``V`` is seed 0, ``V-seedK`` seed K (the newest row wins). Reports each
pair's difference (other − base), the mean over all pairs and per scene. ``--exclude SCENE:seedK`` leaves a pair
out (say why in the docs). Merged under ``--label`` into ``benchmarks/results/equal_steps_compare.json``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import harness as h

SPEC = h.Spec("equal_steps_compare", __doc__)


def by_scene_seed(rows: list[dict], variant: str) -> dict[tuple[str, int], float]:
    pattern = re.compile(re.escape(variant) + r"(?:-seed(\d+))?")
    return {(row["scene"], int(match.group(1) or 0)): float(row["test_psnr"])
            for row in rows if (match := pattern.fullmatch(row["variant"]))}


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("--label", required=True, help="this comparison's key in the results file")
    parser.add_argument("--base", required=True, help="variant name of the baseline (its seed-0 row)")
    parser.add_argument("--other", required=True, help="variant name compared with it")
    parser.add_argument("--exclude", action="append", default=[], metavar="SCENE:seedK", help="pairs to leave out")
    parser.add_argument("--rows", type=Path, default=h.RESULTS / "equal_steps.json", help="the equal-steps rows")
    args = SPEC.parse(parser, argv)
    rows = json.loads(args.rows.read_text())["rows"]
    base, other = by_scene_seed(rows, args.base), by_scene_seed(rows, args.other)
    excluded = {(s.split(":")[0], int(s.split(":seed")[1])) for s in args.exclude}
    pairs = sorted(k for k in base.keys() & other.keys() if k not in excluded)
    if not pairs:
        parser.error(f"no (scene, seed) has both {args.base!r} and {args.other!r}")
    diffs = {f"{scene}:seed{seed}": round(other[(scene, seed)] - base[(scene, seed)], 3) for scene, seed in pairs}
    mean = lambda values: round(sum(values) / len(values), 3)  # noqa: E731
    scenes = sorted({scene for scene, _ in pairs})
    summary = {"base": args.base, "other": args.other, "excluded": sorted(args.exclude), "pairs": len(pairs),
               "difference": diffs, "mean_difference": mean(list(diffs.values())),
               "mean_difference_per_scene": {s: mean([v for k, v in diffs.items() if k.startswith(s + ":")])
                                             for s in scenes},
               "base_mean_per_scene": {s: mean([base[k] for k in pairs if k[0] == s]) for s in scenes}}
    SPEC.write(args, lambda stored: {"comparisons": {**stored.get("comparisons", {}), args.label: summary}})
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
