"""Test PSNR / SSIM and seconds per test image of NeuSample, stratified sampling and NeRF at equal N and time.

    python benchmarks/sampler_comparison.py                          # demo, lego x8, fern x8; N = 8..64; 5 min
    python benchmarks/sampler_comparison.py --scenes lego --n-values 8,32 --methods neusample,stratified --seeds 0,1
    python benchmarks/sampler_comparison.py --dry-run | --plot-only

Every model is one ``jneusample train --preset P --max-minutes M`` (a fresh process; ``quick`` for the demo
scene, ``cpu`` for lego and fern), ``eval --lpips none`` on the test split and, for the sample-field methods,
``placement`` (spread across rays, own-vs-mean gap). At N points per ray at render time: ``neusample`` (the
recipe of ``--neusample-set``), ``paper-head`` (the paper's head, photometric loss only), ``stratified`` (the same
radiance field at stratified samples), ``nerf`` (Nc = max(3, N/4) coarse, the fine network at N − Nc). Rows are
merged into ``benchmarks/results/sampler_comparison.json`` by (method, scene, N, seed, minutes, recipe) after every
model; ``--plot`` draws PSNR against seconds per image (docs/images/sampler_comparison.png).
"""
from __future__ import annotations

import hashlib
import json
import statistics
from pathlib import Path

import harness as h
from jneusample.presets import RECIPES

SPEC = h.Spec("sampler_comparison", __doc__, out="/tmp/sampler_comparison", minutes=5.0)
PRESETS = {"demo": "quick", "lego": "cpu", "fern": "cpu"}
NEUSAMPLE_RECIPE = list(RECIPES["proposal"])
"""Recipe B (docs/benchmarks.md, "Does the sample field earn its place?"): ``train --recipe proposal``."""
STYLES = {"neusample": ("C3", "o"), "paper-head": ("C1", "^"), "stratified": ("C0", "s"), "nerf": ("C2", "D")}


def nerf_counts(n: int) -> tuple[int, int]:
    """NeRF's (n_coarse, n_importance) with n points per ray in all: Nc + (Nc + Ni) = n."""
    coarse = max(3, n // 4)
    return coarse, n - 2 * coarse


def method_sets(method: str, n: int, args) -> list[str]:
    """The ``--set`` overrides of ``method`` at N = ``n``."""
    if method == "nerf":
        coarse, importance = nerf_counts(n)
        return ["model.kind=nerf", f"model.n_coarse={coarse}", f"model.n_importance={importance}"]
    sets = {"neusample": args.neusample_set, "stratified": ["model.kind=stratified"],
            "paper-head": ["model.sample_field_head=paper", "model.sample_field_proposal_loss=0"]}
    if method not in sets:
        raise SystemExit(f"error: unknown method {method!r} (neusample, paper-head, stratified, nerf)")
    return [*sets[method], f"model.n_samples={n}"]


def measure_one(method: str, scene: str, n: int, seed: int, args) -> dict:
    """Train (or resume) one model, evaluate it; its row."""
    data, factor, skip = h.SCENES[scene]
    preset = args.preset or PRESETS[scene]
    digest = lambda overrides: "-" + hashlib.sha1(" ".join(overrides).encode()).hexdigest()[:8]  # noqa: E731
    recipe = digest(args.neusample_set) if method == "neusample" else ""
    common = digest(args.all_set) if args.all_set else ""  # runs with other common overrides: other folders
    run_dir = Path(args.out) / f"{scene}-{method}{recipe}{common}-n{n}-s{seed}-{args.minutes:g}min"
    sets = [*args.all_set, *method_sets(method, n, args), f"train.seed={seed}"]
    train = ["train", "--data", str(data), "--preset", preset, "--factor", str(factor), "--no-progress",
             "--max-minutes", f"{args.minutes:g}", "--out", str(run_dir), *h.sets(sets)]
    placement = (["placement", "--run", str(run_dir), "--skip", str(skip)]
                 if method in ("neusample", "paper-head") else None)
    if args.dry_run:
        for command in (train, h.eval_command(run_dir, skip), placement):
            if command:
                print("jneusample " + " ".join(command))
        return {}
    record = h.trained(train, run_dir, f"{scene} {method} N={n}")
    results = h.evaluated(run_dir, skip)
    row = h.stamp({"method": method, "scene": scene, "n": n, "seed": seed, "minutes": args.minutes, "preset": preset,
                   "steps": record["steps"], "test_psnr": results["psnr"], "test_ssim": results["ssim"],
                   "sec_per_image": results["sec_per_image"], "points_per_ray": results.get("points_per_ray"),
                   "n_images": results.get("n_images"), "wall_minutes": record["minutes"],
                   "load_average": record["load_average"], "command": record["command"]})
    if method == "neusample":
        row["neusample_set"] = list(args.neusample_set)
    if args.all_set:
        row["all_set"] = list(args.all_set)
    if placement:
        h.jneusample(placement)
        study = json.loads((run_dir / "placement_test.json").read_text())
        row.update({key: study[key] for key in ("spread_across_rays", "own_minus_mean_db", "mean_placement_psnr")})
    return row


def key(row: dict) -> tuple:
    """Rows of one method, scene, N, seed, budget and common overrides replace each other; NeuSample's also by
    recipe."""
    return (row["method"], row["scene"], row["n"], row["seed"], row["minutes"], tuple(row.get("neusample_set", [])),
            tuple(row.get("all_set", [])))


def plot(rows: list[dict], path: Path, recipe: list[str] | None = None) -> Path:
    """PSNR against seconds per test image, one panel per scene, one line per method and budget over N (NeuSample:
    the rows of ``recipe`` only, when given)."""
    rows = [r for r in rows if recipe is None or r["method"] != "neusample" or r.get("neusample_set") == recipe]
    scenes = [s for s in h.SCENES if any(r["scene"] == s for r in rows)]
    budgets_seen = [r["minutes"] for r in rows]
    main_budget = max(set(budgets_seen), key=budgets_seen.count)  # solid lines; other budgets dashed
    fig, axes = h.figure(1, len(scenes), (4.6, 3.8))
    for ax, scene in zip(axes[0], scenes):
        for method, (colour, marker) in STYLES.items():
            mine = [r for r in rows if r["scene"] == scene and r["method"] == method]
            budgets = sorted({r["minutes"] for r in mine})
            for budget in budgets:  # one point per N: the mean over seeds
                ns = sorted({r["n"] for r in mine if r["minutes"] == budget})
                xs, ys = ([statistics.mean(r[key] for r in mine if r["minutes"] == budget and r["n"] == n) for n in ns]
                          for key in ("sec_per_image", "test_psnr"))
                ax.plot(xs, ys, color=colour, marker=marker, linestyle="-" if budget == main_budget else "--",
                        label=f"{method} ({budget:g} min)")
                for x, y, n in zip(xs, ys, ns):
                    ax.annotate(f"{n}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
        ax.set(title=scene, xlabel="seconds per test image (2 CPU cores)", ylabel="test PSNR (dB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return h.save_figure(fig, path)


def arguments(argv: list[str] | None = None):
    parser = SPEC.parser()
    parser.add_argument("--scenes", type=h.parse_list(), default=["demo", "lego", "fern"])
    parser.add_argument("--n-values", type=h.parse_list(int), default=[8, 16, 32, 64])
    parser.add_argument("--methods", type=h.parse_list(), default=["neusample", "stratified", "nerf"])
    parser.add_argument("--seeds", type=h.parse_list(int), default=[0])
    parser.add_argument("--preset", default=None, help="one preset for every scene (default: quick for the demo "
                                                        "scene, cpu for lego and fern)")
    parser.add_argument("--set", dest="all_set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override of every model (repeatable)")
    parser.add_argument("--neusample-set", action="append", default=None, metavar="KEY=VALUE",
                        help=f"the neusample method's overrides (repeatable; default: {' '.join(NEUSAMPLE_RECIPE)})")
    h.plot_options(parser, h.REPO / "docs" / "images" / "sampler_comparison.png")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and exit")
    args = SPEC.parse(parser, argv)
    args.neusample_set = args.neusample_set or list(NEUSAMPLE_RECIPE)
    unknown = [s for s in args.scenes if s not in h.SCENES]
    if unknown:
        parser.error(f"unknown scene(s) {', '.join(unknown)} (choose from: {', '.join(h.SCENES)})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    rows = json.loads(args.results.read_text()).get("rows", []) if args.results.exists() else []
    if args.plot_only:
        plot(rows, args.figure, args.neusample_set)
        return 0
    if not args.dry_run:
        h.need(*(h.SCENES[s][0] for s in args.scenes))
    for scene in args.scenes:
        for n in args.n_values:
            for seed in args.seeds:
                for method in args.methods:
                    row = measure_one(method, scene, n, seed, args)
                    if row:
                        SPEC.write(args, lambda stored: {"neusample_recipe": args.neusample_set,
                                                         "rows": h.merge_rows(stored.get("rows", []), row, key)})
                        print(json.dumps({k: v for k, v in row.items() if k != "command"}), flush=True)
    if args.plot and not args.dry_run:
        plot(json.loads(args.results.read_text())["rows"], args.figure, args.neusample_set)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
