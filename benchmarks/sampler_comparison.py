#!/usr/bin/env python3
"""The sample field against the simplest sampler and NeRF, at the same N and the same training wall clock.

    python benchmarks/sampler_comparison.py                          # demo, lego x8, fern x8; N = 8..64; 5 min
    python benchmarks/sampler_comparison.py --scenes lego --n-values 8,32 --methods neusample,stratified \\
        --minutes 20 --seeds 0,1
    python benchmarks/sampler_comparison.py --dry-run                # print the commands, run nothing
    python benchmarks/sampler_comparison.py --plot-only              # redraw the figure from the JSON

Every model is one ``jneusample train --preset P --max-minutes M`` (a fresh process; the cpu/quick presets' time
schedule makes M minutes the whole run, with their 2 MPI ranks), then ``jneusample eval --lpips none`` on the
test split (every 8th view of lego, all of fern's 3 and the demo's 8), and for NeuSample ``jneusample
placement`` (spread across rays, own-vs-mean gap). Methods, each at N points per ray at render time:

- ``neusample``: the sample field with the recipe of ``--neusample-set`` (default: what the presets use);
- ``paper-head``: the paper's head trained by the photometric loss alone (the presets of the previous round);
- ``stratified``: the same radiance field at stratified samples (``model.kind=stratified``);
- ``nerf``: NeRF's coarse-to-fine with N points per ray in all: Nc = max(3, N/4) coarse, the fine network at
  N − Nc (Nc of them the coarse samples), i.e. ``model.n_importance = N − 2·Nc``.

Rows (``method``, ``scene``, ``n``, ``seed``, ``minutes``, ``steps``, ``test_psnr``, ``test_ssim``,
``sec_per_image``, load average, commands) are merged into ``benchmarks/results/sampler_comparison.json`` by
(method, scene, n, seed, minutes), written after every model, so an interrupted grid keeps what it measured;
``--plot`` draws PSNR against seconds per test image (docs/images/sampler_comparison.png).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, RESULTS, LoadMonitor, run_record, write_result  # noqa: E402

DATA = REPO.parent / "shared" / "data"
SCENES = {  # scene → (data folder, factor, eval --skip, preset)
    "demo": (REPO / "jneusample" / "assets" / "demo_scene", 1, 1, "quick"),
    "lego": (DATA / "nerf_synthetic" / "lego", 8, 8, "cpu"),
    "fern": (DATA / "nerf_llff_data" / "fern", 8, 1, "cpu"),
}
NEUSAMPLE_RECIPE = ["model.sample_field_head=quantile", "model.sample_field_proposal_loss=1",
                    "model.sample_field_probes=16", "model.sample_field_init=default", "train.sample_field_lr_scale=1",
                    "model.origin_freqs=2", "model.direction_freqs=4", "model.sample_field_probe_share=0.25",
                    "model.sample_field_depth=4"]
"""The sample field that learnt per-ray placement that holds on test views (docs/benchmarks.md, "Does the sample
field earn its place?"): quantile head taught by the probe pass, the official random head initialisation, the
radiance field's rate, and low encoding frequencies for the ray (the paper's 10 and 10 did not generalise to
new cameras); the probe pass on a quarter of each step's rays and a 4-layer sample field, so that the sampler's
training costs less than the 8 samples it places (recipe B; recipe A, the previous one, probed every ray with an
8-layer field). ``--neusample-set`` replaces it."""
FIGURE = REPO / "docs" / "images" / "sampler_comparison.png"


def nerf_counts(n: int) -> tuple[int, int]:
    """NeRF's (n_coarse, n_importance) with n points per ray in all: Nc + (Nc + Ni) = n."""
    coarse = max(3, n // 4)
    return coarse, n - 2 * coarse


def method_sets(method: str, n: int, args) -> list[str]:
    """The ``--set`` overrides of ``method`` at N = ``n``."""
    if method == "neusample":
        return [*args.neusample_set, f"model.n_samples={n}"]
    if method == "paper-head":
        return ["model.sample_field_head=paper", "model.sample_field_proposal_loss=0", f"model.n_samples={n}"]
    if method == "stratified":
        return ["model.kind=stratified", f"model.n_samples={n}"]
    if method == "nerf":
        coarse, importance = nerf_counts(n)
        return ["model.kind=nerf", f"model.n_coarse={coarse}", f"model.n_importance={importance}"]
    raise SystemExit(f"error: unknown method {method!r} (neusample, paper-head, stratified, nerf)")


def jneusample(command: list[str]) -> None:
    print("+ jneusample", " ".join(command), flush=True)
    subprocess.run([sys.executable, "-m", "jneusample", *command], cwd=REPO, check=True, env=dict(os.environ))


def latest_step(run_dir: Path) -> int:
    return max(int(p.stem.split("_")[1]) for p in (run_dir / "checkpoints").glob("step_*.ckpt"))


def measure_one(method: str, scene: str, n: int, seed: int, args) -> dict:
    """Train (or resume) one model, evaluate it; its row."""
    data, factor, skip, preset = SCENES[scene]
    preset = args.preset or preset
    recipe = ""
    if method == "neusample":  # one folder per recipe: a run of another recipe is never resumed
        recipe = "-" + hashlib.sha1(" ".join(args.neusample_set).encode()).hexdigest()[:8]
    run_dir = Path(args.out) / f"{scene}-{method}{recipe}-n{n}-s{seed}-{args.minutes:g}min"
    sets = [*args.all_set, *method_sets(method, n, args), f"train.seed={seed}"]
    train = ["train", "--data", str(data), "--preset", preset, "--factor", str(factor), "--no-progress",
             "--max-minutes", f"{args.minutes:g}", "--out", str(run_dir), *(x for s in sets for x in ("--set", s))]
    evaluate = ["eval", "--run", str(run_dir), "--skip", str(skip), "--lpips", "none", "--no-images", "--no-progress"]
    placement = ["placement", "--run", str(run_dir), "--skip", str(skip)]
    if args.dry_run:
        for command in (train, evaluate) + ((placement,) if method.startswith(("neusample", "paper")) else ()):
            print("jneusample " + " ".join(command))
        return {}
    started = time.time()
    with LoadMonitor() as load:
        jneusample(train + (["--resume"] if (run_dir / "checkpoints").exists() else []))
        minutes = (time.time() - started) / 60
        jneusample(evaluate)
    results = json.loads((run_dir / "eval_test" / "results.json").read_text())
    row = {"method": method, "scene": scene, "n": n, "seed": seed, "minutes": args.minutes, "preset": preset,
           "steps": latest_step(run_dir), "test_psnr": results["psnr"], "test_ssim": results["ssim"],
           "sec_per_image": results["sec_per_image"], "points_per_ray": results.get("points_per_ray"),
           "n_images": results.get("n_images"), "wall_minutes": round(minutes, 2), "load_average": load.summary(),
           "command": "jneusample " + " ".join(train),
           **{key: value for key, value in run_record().items() if key in ("date", "git_commit")}}
    if method == "neusample":
        row["neusample_set"] = list(args.neusample_set)
    if method in ("neusample", "paper-head"):
        jneusample(placement)
        study = json.loads((run_dir / "placement_test.json").read_text())
        row.update({key: study[key] for key in ("spread_across_rays", "own_minus_mean_db", "mean_placement_psnr")})
    return row


def key(row: dict) -> tuple:
    """Rows of one method, scene, N, seed and budget replace each other; NeuSample's also by recipe."""
    return (row["method"], row["scene"], row["n"], row["seed"], row["minutes"], tuple(row.get("neusample_set", [])))


def recipe_of(row: dict, recipe: list[str]) -> bool:
    """Whether a row is of the figure's NeuSample recipe (rows written before recipes were recorded per row
    carried the file's ``neusample_recipe``; only rows naming ``recipe`` are drawn)."""
    return row["method"] != "neusample" or row.get("neusample_set") == list(recipe)


def plot(rows: list[dict], path: Path = FIGURE, recipe: list[str] | None = None) -> Path:
    """PSNR against seconds per test image, one panel per scene, one line per method over N (NeuSample: the rows
    of ``recipe`` only, when given)."""
    if recipe is not None:
        rows = [r for r in rows if recipe_of(r, recipe)]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenes = [s for s in SCENES if any(r["scene"] == s for r in rows)]
    fig, axes = plt.subplots(1, len(scenes), figsize=(4.6 * len(scenes), 3.8), squeeze=False)
    styles = {"neusample": ("C3", "o"), "paper-head": ("C1", "^"), "stratified": ("C0", "s"), "nerf": ("C2", "D")}
    for ax, scene in zip(axes[0], scenes):
        for method, (colour, marker) in styles.items():
            mine = [r for r in rows if r["scene"] == scene and r["method"] == method]
            minutes = sorted({r["minutes"] for r in mine})
            for budget in minutes:
                by_n: dict[int, list[dict]] = {}
                for r in mine:
                    if r["minutes"] == budget:
                        by_n.setdefault(r["n"], []).append(r)
                ns = sorted(by_n)
                xs = [sum(r["sec_per_image"] for r in by_n[n]) / len(by_n[n]) for n in ns]
                ys = [sum(r["test_psnr"] for r in by_n[n]) / len(by_n[n]) for n in ns]
                ax.plot(xs, ys, color=colour, marker=marker, linestyle="-" if budget == minutes[0] else "--",
                        label=f"{method} ({budget:g} min)")
                for x, y, n in zip(xs, ys, ns):
                    ax.annotate(f"{n}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
        ax.set_title(scene)
        ax.set_xlabel("seconds per test image (2 CPU cores)")
        ax.set_ylabel("test PSNR (dB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)
    return path


def parse_list(text: str, kind=str) -> list:
    return [kind(item.strip()) for item in text.split(",") if item.strip()]


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=parse_list, default=["demo", "lego", "fern"])
    parser.add_argument("--n-values", type=lambda t: parse_list(t, int), default=[8, 16, 32, 64])
    parser.add_argument("--methods", type=parse_list, default=["neusample", "stratified", "nerf"])
    parser.add_argument("--seeds", type=lambda t: parse_list(t, int), default=[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="training wall clock of every model")
    parser.add_argument("--preset", default=None, help="one preset for every scene (default: quick for the demo "
                                                        "scene, cpu for lego and fern)")
    parser.add_argument("--set", dest="all_set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override of every model (repeatable)")
    parser.add_argument("--neusample-set", action="append", default=None, metavar="KEY=VALUE",
                        help=f"the neusample method's overrides (repeatable; default: {' '.join(NEUSAMPLE_RECIPE)})")
    parser.add_argument("--name", default="sampler_comparison", help="results file name (without .json)")
    parser.add_argument("--out", default="/tmp/sampler_comparison", help="where the runs go (not committed)")
    parser.add_argument("--plot", action="store_true", help="redraw the figure after the grid")
    parser.add_argument("--plot-only", action="store_true", help="only redraw the figure from the JSON")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and exit")
    args = parser.parse_args(argv)
    if args.neusample_set is None:
        args.neusample_set = list(NEUSAMPLE_RECIPE)
    unknown = [s for s in args.scenes if s not in SCENES]
    if unknown:
        parser.error(f"unknown scene(s) {', '.join(unknown)} (choose from: {', '.join(SCENES)})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    path = RESULTS / f"{args.name}.json"
    rows = json.loads(path.read_text()).get("rows", []) if path.exists() else []
    if args.plot_only:
        print(plot(rows, recipe=args.neusample_set))
        return 0
    missing = [str(SCENES[s][0]) for s in args.scenes if not SCENES[s][0].exists()]
    if missing and not args.dry_run:
        print(f"error: scene data not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    for scene in args.scenes:
        for n in args.n_values:
            for seed in args.seeds:
                for method in args.methods:
                    row = measure_one(method, scene, n, seed, args)
                    if not row:
                        continue
                    rows = [r for r in rows if key(r) != key(row)] + [row]
                    write_result(args.name, {
                        "what": "test PSNR / SSIM and seconds per test image of NeuSample against stratified "
                                "sampling and NeRF at the same N (points per ray at render time) and the same "
                                "training wall clock, each model alone on the machine (load recorded)",
                        "neusample_recipe": list(args.neusample_set), "rows": rows})
                    print(json.dumps({k: v for k, v in row.items() if k != "command"}), flush=True)
    if args.plot and not args.dry_run:
        print(plot(rows, recipe=args.neusample_set))
    return 0


if __name__ == "__main__":
    sys.exit(main())
