"""Test PSNR vs N of one any-N model (quantile head) against dedicated models per N, at equal training time.

    python benchmarks/any_n.py                       # lego x8 and fern x8, cpu preset, 20 minutes per model
    python benchmarks/any_n.py --minutes 3 --set model.interval_encoding=true \\
        --any-set model.samples_choices_share=inverse_square   # a lever for every model, one for the any-N only
    python benchmarks/any_n.py --dry-run | --quick --out /tmp/any_n_tiny | --plot-only

Per scene, every model trains ``--preset cpu --factor 8 --max-minutes M`` (a fresh process): ``any`` (quantile
head, ``model.samples_choices=8,16,32,64``, evaluated with ``eval --samples N`` at every N), ``dedicated N`` (the
paper's head at ``model.n_samples=N``) and ``extracted N`` (a parent at the trained N for M − E minutes, then
``extract --samples N --max-minutes E``). Test PSNR / SSIM / seconds per image per N, steps, load and commands are
merged by scene into ``benchmarks/results/any_n.json``; ``--plot`` draws docs/images/any_n.png. Interrupted runs
resume where they stopped.
"""
from __future__ import annotations

import json
from pathlib import Path

import harness as h

SPEC = h.Spec("any_n", __doc__, out="/tmp/any_n", minutes=20.0,
              quick="smoke test: tiny preset, demo scene at factor 4, 4 steps per model, N = 4 and 8, every "
                    "command in this process; results go into --out")
SERIES = (("any", "one any-N model{any_set}", "o", "-"), ("dedicated", "dedicated (trained at N)", "s", "--"),
          ("extracted", "extracted from N = {trained}", "^", ":"))


def plan(scene: str, data: Path, args) -> list[tuple[str, str, Path, list[str], dict[int, int | None]]]:
    """(group, name, run folder, train/extract command, {N: eval --samples}) of every model of one scene."""
    ns, root = sorted(set(args.n_values) | {args.trained_n}), Path(args.out) / scene
    common = ["train", "--data", str(data), "--preset", args.preset, "--factor", str(args.factor), "--no-progress",
              *h.sets(args.all_set)]
    budget = ["--steps", str(args.steps)] if args.steps else ["--max-minutes", f"{args.minutes:g}"]

    def train(group: str, name: str, n: int, budget: list[str] = budget, more: tuple = ()) -> tuple:
        return group, name, root / name, [*common, *budget, "--out", str(root / name), *more,
                                          "--set", f"model.n_samples={n}"]

    models = [(*train("any", "any", args.trained_n, more=("--set", "model.sample_field_head=quantile", "--set",
                                                        f"model.samples_choices={','.join(map(str, args.choices))}")),
               {n: n for n in ns})]
    models[0][3].extend(h.sets(args.any_set))
    models += [(*train("dedicated", f"dedicated-n{n}", n), {n: None}) for n in ns]
    smaller = [n for n in ns if n < args.trained_n]
    if smaller and args.extract_minutes > 0:
        parent = root / f"parent-n{args.trained_n}"
        parent_budget = (["--steps", str(max(1, args.steps - args.extract_steps))] if args.steps
                         else ["--max-minutes", f"{args.minutes - args.extract_minutes:g}"])
        models.append((*train("parent", parent.name, args.trained_n, parent_budget), {args.trained_n: None}))
        # a time schedule runs over --max-minutes; the step cap is lifted so that the time is what ends it
        extract = (["--steps", str(args.extract_steps)] if args.steps
                   else ["--max-minutes", f"{args.extract_minutes:g}", "--steps", "1000000"])
        models += [("extracted", f"extracted-n{n}", root / f"extracted-n{n}",
                    ["extract", "--run", str(parent), "--samples", str(n), *extract, "--out",
                     str(root / f"extracted-n{n}"), "--no-progress"], {n: None}) for n in smaller]
    return models


def measure(models: list, skip: int, args) -> dict:
    """Train (or resume) and evaluate every model; the scene's rows."""
    rows: dict = {"any": {"choices": args.choices, "trained_n": args.trained_n, "by_n": {}}, "dedicated": {},
                  "parent": {}, "extracted": {}}
    how = {"one_process": args.one_process, "in_process": args.quick}
    for group, name, run_dir, command, evals in models:
        record = h.trained(command, run_dir, name, settle=0 if args.quick else 150, **how)  # quick: tests, no wait
        by_n = {}
        for n, samples in evals.items():
            results = h.evaluated(run_dir, skip, samples, **how)
            assert results["points_per_ray"] == n, (name, n, results["points_per_ray"])
            by_n[str(n)] = {key: results.get(key) for key in ("psnr", "ssim", "sec_per_image", "n_images")}
        if group == "extracted":  # its wall clock includes the parent's
            parent = next(iter(rows["parent"].values()))["minutes"]
            record.update(extraction_minutes=record["minutes"], minutes=round(parent + record["minutes"], 1))
        if group == "any":
            rows["any"].update(record, by_n=by_n)
        else:
            rows[group].update({n: {**record, **values} for n, values in by_n.items()})
        print(f"{name}: " + ", ".join(f"N={n} {v['psnr']:.2f} dB" for n, v in by_n.items()), flush=True)
    psnr = lambda group, n: rows["any"]["by_n"][n]["psnr"] if group == "any" else rows[group][n]["psnr"]  # noqa: E731
    rows["psnr_any_minus_dedicated"] = {n: psnr("any", n) - psnr("dedicated", n) for n in rows["dedicated"]}
    rows["psnr_any_minus_best_dedicated"] = {
        n: psnr("any", n) - max(psnr(g, n) for g in ("dedicated", "extracted") if n in rows[g])
        for n in rows["dedicated"]}
    return rows


def plot(results: Path, path: Path) -> Path:
    """Per scene: PSNR against N (left) and against seconds per test image (right), one line per series."""
    scenes = json.loads(results.read_text())["scenes"]
    names = sorted(scenes, key=lambda name: (["lego", "fern", "demo", name].index(name), name))
    fig, axes = h.figure(len(names), 2, (5, 3.6))
    for row, name in zip(axes, names):
        scene = scenes[name]
        series = {g: sorted((int(n), r["psnr"], r["sec_per_image"]) for n, r in
                            (scene["any"]["by_n"] if g == "any" else scene.get(g, {})).items()) for g, *_ in SERIES}
        for group, label, marker, style in SERIES:
            if series[group]:
                n, psnr, seconds = zip(*series[group])
                label = label.format(trained=scene["any"].get("trained_n"), any_set="".join(
                    f", {item.split('.')[-1]}" for item in scene.get("any_set", [])))
                row[0].plot(n, psnr, marker=marker, linestyle=style, label=label)
                row[1].plot(seconds, psnr, marker=marker, linestyle=style, label=label)
        ticks = sorted({n for points in series.values() for n, _, _ in points})
        row[0].set_xscale("log", base=2)
        row[0].set_xticks(ticks, [str(n) for n in ticks])
        row[0].set_xlabel("samples per ray N")
        row[1].set_xlabel("seconds per test image (2 CPU cores)")
        for axis in row:
            axis.set_ylabel("test PSNR (dB)")
            axis.grid(alpha=0.3)
        levers = ", ".join(item.split(".")[-1] for item in scene.get("every_model_set", []))
        row[0].set_title(f"{name}: {scene.get('budget', '')} per model, {scene.get('preset', '')} preset"
                         + (f" + {levers}" if levers else ""), fontsize=10)
        row[0].legend(fontsize=8)
    return h.save_figure(fig, path, dpi=90)


def arguments(argv: list[str] | None = None):
    parser = SPEC.parser()
    parser.add_argument("--scenes", type=h.parse_list(), default=["lego", "fern"], help="lego and/or fern")
    parser.add_argument("--n-values", type=h.parse_list(int), default=[8, 16, 32, 64],
                        help="N to evaluate at (each also gets its dedicated model; the trained N is added)")
    parser.add_argument("--choices", type=h.parse_list(int), default=[8, 16, 32, 64],
                        help="model.samples_choices of the any-N model")
    parser.add_argument("--trained-n", type=int, default=32, help="model.n_samples of the any-N model")
    parser.add_argument("--set", dest="all_set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override of every trained model (an extraction keeps its parent's)")
    parser.add_argument("--any-set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override of the any-N model only (repeatable)")
    parser.add_argument("--extract-minutes", type=float, default=None,
                        help="the extraction's share of the budget (default: --minutes / 4; 0: no extracted models)")
    parser.add_argument("--factor", type=int, default=8)
    parser.add_argument("--one-process", action="store_true", help="train as one process, not the preset's ranks")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and exit")
    h.plot_options(parser, h.REPO / "docs" / "images" / "any_n.png")
    args = SPEC.parse(parser, argv)
    args.preset, args.steps, args.extract_steps = "cpu", 0, 0
    args.extract_minutes = args.minutes / 4 if args.extract_minutes is None else args.extract_minutes
    if not 0 <= args.extract_minutes < args.minutes:
        parser.error(f"--extract-minutes must be in [0, --minutes), got {args.extract_minutes:g}")
    if args.quick:
        args.preset, args.steps, args.extract_steps, args.factor = "tiny", 4, 2, 4
        args.n_values, args.choices, args.trained_n, args.scenes = [4, 8], [4, 8], 8, ["demo"]
        if args.results == h.RESULTS / f"{args.name}.json":  # never into benchmarks/results
            args.results = Path(args.out) / f"{args.name}.json"
    if set(args.scenes) - {"lego", "fern"} - ({"demo"} if args.quick else set()):
        parser.error(f"unknown scene(s) in {','.join(args.scenes)} (choose from: lego, fern)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    if args.plot_only:
        plot(args.results, args.figure)
        return 0
    scenes = {name: (h.DEMO, 4) if args.quick else (h.SCENES[name][0], h.SCENES[name][2]) for name in args.scenes}
    plans = {scene: plan(scene, data, args) for scene, (data, _) in scenes.items()}
    if args.dry_run:
        for scene, models in plans.items():
            for _, name, run_dir, command, evals in models:
                print(f"{scene} {name}:\n  jneusample " + " ".join(command))
                for samples in evals.values():
                    print("  jneusample " + " ".join(h.eval_command(run_dir, scenes[scene][1], samples)))
        return 0
    h.need(*(data for data, _ in scenes.values()))
    for scene, models in plans.items():
        data, skip = scenes[scene]
        rows = {"data": str(data), "factor": args.factor, "preset": args.preset, "eval_skip": skip,
                "budget": f"{args.steps} steps" if args.steps else f"{args.minutes:g} minutes",
                "every_model_set": args.all_set, "any_set": args.any_set, **measure(models, skip, args)}
        SPEC.write(args, lambda stored: {"scenes": {**stored.get("scenes", {}), scene: rows}})
        print(json.dumps(rows, indent=1), flush=True)
    if args.plot:
        plot(args.results, args.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
