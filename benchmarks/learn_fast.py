"""Quality per minute of CPU: a preset plus overrides trained for a wall-clock budget (or equal steps), evaluated.

    python benchmarks/learn_fast.py --scene lego --minutes 6 --variant no-softplus --set model.density_activation=relu
    python benchmarks/learn_fast.py --scene fern --steps 1000 --variant bf16 --set train.bf16_matmuls=true \\
        --name equal_steps                   # equal steps: the machine's load changes the wall time, not the result
    python benchmarks/learn_fast.py --plot-only [--variants old,cpu] [--before SCENE=LABEL=metrics.jsonl]

One row per call: ``jneusample train --preset P --max-minutes M`` (or ``--steps S``, ``train.schedule=steps``; a
fresh process) and ``eval`` of the test split: test PSNR/SSIM, steps, points/s, validation PSNR against minutes,
commands and load, appended to ``benchmarks/results/learn_fast.json``. ``--plot`` draws the validation curves,
the newest row per (scene, variant), to docs/images/learning_curves.png. Scenes: demo, lego, fern or a folder.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import harness as h

SPEC = h.Spec("learn_fast", __doc__, out="/tmp/learn_fast", minutes=4.0)


def plot(rows: list[dict], path: Path, variants: list[str], before: list[str]) -> Path:
    newest = {(r["scene"], r["variant"]): r for r in rows  # equal-steps rows have no time budget to plot against
              if r.get("minutes") is not None and (not variants or r["variant"] in variants)}
    scenes = sorted({scene for scene, _ in newest})
    if not scenes:
        raise SystemExit("error: no matching rows")
    fig, axes = h.figure(1, len(scenes), (4.2, 3.4))
    for axis, scene in zip(axes[0], scenes):
        for (row_scene, variant), row in sorted(newest.items()):
            if row_scene == scene:
                line, = axis.plot([p["minutes"] for p in row["val_curve"]], [p["val_psnr"] for p in row["val_curve"]],
                                  marker=".", label=f"{variant} ({row['test_psnr']:.1f} dB test)")
                axis.scatter([row["minutes"]], [row["test_psnr"]], color=line.get_color(), marker="*", s=80, zorder=3)
                factor = row["factor"]
        for item in before:  # a curve from a run's own log (the old preset's runs, kept under benchmarks/results/)
            name, label, log = item.split("=", 2)
            if name == scene:
                lines = [json.loads(line) for line in Path(log).read_text().splitlines() if line.strip()]
                points = [(l["elapsed_s"] / 60, l["val_psnr"]) for l in lines if l.get("val_psnr") is not None]
                axis.plot(*zip(*points), marker=".", linestyle="--", color="grey", label=label)
        axis.set(title=f"{scene} (x{factor})", xlabel="minutes of training (2 CPU cores)",
                 ylabel="validation PSNR (dB)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, loc="lower right")
    return h.save_figure(fig, path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("--scene", default="demo", help="demo, lego, fern, or a scene folder")
    parser.add_argument("--factor", type=int, default=None, help="downscale (default: per scene)")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--steps", type=int, default=None, help="train this many steps instead (equal steps)")
    parser.add_argument("--variant", default=None, help="row name (default: the preset)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override key=value")
    parser.add_argument("--run-dir", default=None, help="the run's folder (default: OUT/SCENE-VARIANT-TIME); "
                                                        "scripts/make_pretrained.py trains through this script")
    parser.add_argument("--tag", default="", help="free text stored with the row (e.g. which checkout)")
    parser.add_argument("--python", default=sys.executable, help="interpreter (another checkout's venv)")
    parser.add_argument("--repo", default=str(h.REPO), help="checkout whose jneusample to run (old vs new)")
    parser.add_argument("--variants", type=h.parse_list(), default=[], help="the plot's variants (default: all)")
    parser.add_argument("--before", action="append", default=[], metavar="SCENE=LABEL=metrics.jsonl",
                        help="a grey curve from a run's log in the plot")
    h.plot_options(parser, h.REPO / "docs" / "images" / "learning_curves.png")
    args = SPEC.parse(parser, argv)
    if args.plot_only:
        plot(json.loads(args.results.read_text())["rows"], args.figure, args.variants, args.before)
        return 0
    data, factor, skip = h.SCENES.get(args.scene, (Path(args.scene), 1, 1))
    factor = args.factor or factor
    h.need(data)
    variant = args.variant or args.preset
    run_dir = Path(args.run_dir or Path(args.out) / f"{Path(data).name}-{variant}-{int(time.time())}")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    budget = (["--steps", str(args.steps), "--set", "train.schedule=steps"] if args.steps
              else ["--max-minutes", str(args.minutes)])
    train = ["train", "--data", str(data), "--factor", str(factor), "--preset", args.preset, *budget,
             "--out", str(run_dir), "--no-progress", *h.sets(args.overrides)]
    evaluate = ["eval", "--run", str(run_dir), "--skip", str(skip), "--lpips", "none", "--split", "test"]
    how = {"python": args.python, "cwd": Path(args.repo), "log": run_dir.with_suffix(".log")}
    with h.Alone(f"{args.scene} {variant}") as load:
        started = time.time()
        h.jneusample(train, **how)
        middle = time.time()
        h.jneusample(evaluate, **how)
    results = json.loads(next(run_dir.glob("eval_test*/results.json")).read_text())
    last = (h.metrics(run_dir) or [{}])[-1]
    row = h.stamp({"variant": variant, "scene": args.scene, "factor": factor, "preset": args.preset,
                   "overrides": args.overrides, "minutes": None if args.steps else args.minutes,
                   "budget_steps": args.steps, "tag": args.tag, "test_psnr": round(results["psnr"], 3),
                   "test_ssim": round(results["ssim"], 4), "test_views": results["n_images"],
                   "sec_per_image": round(results["sec_per_image"], 3), "steps": last.get("step", 0),
                   "train_points_per_sec": round(last["points_per_sec"]) if last else None,
                   "train_wall_s": round(middle - started, 1), "eval_wall_s": round(time.time() - middle, 1),
                   "val_curve": h.val_curve(run_dir), "load_average": load.summary(),
                   "commands": [" ".join([args.python, "-m", "jneusample", *c]) for c in (train, evaluate)],
                   "repo": args.repo})
    SPEC.write(args, lambda stored: {"rows": h.merge_rows(stored.get("rows", []), row)})
    print(json.dumps({k: row[k] for k in ("variant", "scene", "minutes", "test_psnr", "steps",
                                          "train_points_per_sec", "load_average")}))
    if args.plot:
        plot(json.loads(args.results.read_text())["rows"], args.figure, args.variants, args.before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
