#!/usr/bin/env python3
"""One any-N model (quantile head, docs/method.md §8) against dedicated models per N, at equal training time.

    python benchmarks/any_n.py                       # lego x8 and fern x8, cpu preset, 20 minutes per model
    python benchmarks/any_n.py --scenes fern --minutes 10
    python benchmarks/any_n.py --minutes 3 --set model.interval_encoding=true \\
        --any-set model.samples_choices_share=inverse_square   # a lever for every model, one for the any-N only
    python benchmarks/any_n.py --dry-run             # print the commands, run nothing
    python benchmarks/any_n.py --tiny --out /tmp/any_n_tiny   # the whole pipeline on the demo scene, in-process

Per scene, each model is one ``jneusample train --preset cpu --factor 8 --max-minutes M`` (a fresh process, with
the preset's 2 MPI ranks on a CPU machine; the cpu preset's time schedule makes M minutes the whole run):

- ``any``: ``model.sample_field_head=quantile``, ``model.samples_choices=8,16,32,64`` (each step draws one),
  ``model.n_samples`` = the preset's N (32), evaluated with ``eval --samples N`` at every N of the list;
- ``dedicated N``: the paper's head at ``model.n_samples=N``, one model per N, each evaluated at its own N;
- ``extracted N`` (N below the trained N): the paper's way to a smaller N, a ``parent`` at the trained N trained
  for M − E minutes, then ``jneusample extract --samples N --max-minutes E`` (the preset's extraction: its
  ``extract.head_init`` and ``extract.distill``), so that parent and extraction together take M minutes.

So every model gets the same wall clock; the any-N model pays for all its N with one budget. Evaluation is
``jneusample eval --lpips none`` on the test split (every 8th view for lego, as the pretrained tables; all 3 held-out
views for fern). The rows (test PSNR / SSIM / seconds per image per N, steps, load average, commands) are merged
under the scene's name into ``benchmarks/results/any_n.json`` (``--results-dir`` elsewhere; ``--tiny`` writes
into ``--out``, never into benchmarks/results). Interrupted runs resume where they stopped.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # jneusample, for the in-process tiny mode
from common import REPO, RESULTS, LoadMonitor, write_result  # noqa: E402

NAME = "any_n"
DATA = REPO.parent / "shared" / "data"
SCENES = {  # scene → (data folder, eval --skip)
    "lego": (DATA / "nerf_synthetic" / "lego", 8),
    "fern": (DATA / "nerf_llff_data" / "fern", 1),
}
DEMO_SCENE = REPO / "jneusample" / "assets" / "demo_scene"


@dataclass
class Model:
    """One training run and the evaluations of it."""

    name: str
    run_dir: Path
    train: list[str]
    """The ``train`` (or ``extract``) command; ``--resume`` is added when the run has checkpoints."""
    evals: dict[int, list[str]] = field(default_factory=dict)
    """N → the eval command (its results: :func:`results_path`)."""
    group: str = "dedicated"
    """Where its rows go: 'any', 'dedicated', 'parent' or 'extracted'."""


def results_path(run_dir: Path, samples: int | None) -> Path:
    """Where ``eval`` (default --out) writes the results of ``--samples N`` (None: the run's own N)."""
    return run_dir / (f"eval_test_n{samples}" if samples is not None else "eval_test") / "results.json"


def plan(scene: str, data: Path, skip: int, args) -> list[Model]:
    """The models of one scene: the any-N model first, then one dedicated model per N."""
    n_values = sorted(set(args.n_values) | {args.trained_n})
    common = ["train", "--data", str(data), "--preset", args.preset, "--factor", str(args.factor), "--no-progress",
              *(item for value in args.all_set for item in ("--set", value))]
    budget = ["--steps", str(args.steps)] if args.steps else ["--max-minutes", f"{args.minutes:g}"]
    evaluate = ["eval", "--skip", str(skip), "--lpips", "none", "--no-images", "--no-progress"]
    root = Path(args.out) / scene
    any_dir = root / "any"
    models = [Model("any", any_dir, [*common, *budget, "--out", str(any_dir),
                                     "--set", "model.sample_field_head=quantile",
                                     "--set", f"model.samples_choices={','.join(str(n) for n in args.choices)}",
                                     "--set", f"model.n_samples={args.trained_n}",
                                     *(item for value in args.any_set for item in ("--set", value))],
                    {n: [*evaluate, "--run", str(any_dir), "--samples", str(n)] for n in n_values}, "any")]
    for n in n_values:
        run_dir = root / f"dedicated-n{n}"
        models.append(Model(f"dedicated-n{n}", run_dir,
                            [*common, *budget, "--out", str(run_dir), "--set", f"model.n_samples={n}"],
                            {n: [*evaluate, "--run", str(run_dir)]}))
    smaller = [n for n in n_values if n < args.trained_n]
    if smaller and args.extract_minutes > 0:
        parent_dir = root / f"parent-n{args.trained_n}"
        parent_budget = (["--steps", str(max(1, args.steps - args.extract_steps))] if args.steps
                         else ["--max-minutes", f"{args.minutes - args.extract_minutes:g}"])
        models.append(Model(f"parent-n{args.trained_n}", parent_dir,
                            [*common, *parent_budget, "--out", str(parent_dir),
                             "--set", f"model.n_samples={args.trained_n}"],
                            {args.trained_n: [*evaluate, "--run", str(parent_dir)]}, "parent"))
        # a time schedule runs over --max-minutes; the step cap is lifted so that the time is what ends it
        extract_budget = (["--steps", str(args.extract_steps)] if args.steps
                          else ["--max-minutes", f"{args.extract_minutes:g}", "--steps", "1000000"])
        for n in smaller:
            run_dir = root / f"extracted-n{n}"
            models.append(Model(f"extracted-n{n}", run_dir,
                                ["extract", "--run", str(parent_dir), "--samples", str(n), *extract_budget,
                                 "--out", str(run_dir), "--no-progress"],
                                {n: [*evaluate, "--run", str(run_dir)]}, "extracted"))
    return models


def run(command: list[str], one_process: bool, in_process: bool = False) -> None:
    """``jneusample COMMAND`` as a fresh process (which starts the preset's MPI ranks, unless ``one_process``), or
    ``in_process`` (one process, no Jittor start-up per command: the tiny mode)."""
    print("+ jneusample", " ".join(command), flush=True)
    if in_process:
        from jneusample.cli import main as cli

        if cli(command) != 0:
            raise SystemExit(f"failed: jneusample {' '.join(command)}")
        return
    env = {**os.environ, **({"JNEUSAMPLE_NO_RELAUNCH": "1"} if one_process else {})}
    subprocess.run([sys.executable, "-m", "jneusample", *command], cwd=REPO, check=True, env=env)


def latest_step(run_dir: Path) -> int:
    return max(int(p.stem.split("_")[1]) for p in (run_dir / "checkpoints").glob("step_*.ckpt"))


def evaluated(model: Model, n: int, args) -> dict:
    """The eval results of ``model`` at N = ``n`` (reused when they are of the latest checkpoint)."""
    path = results_path(model.run_dir, n if "--samples" in model.evals[n] else None)
    if not (path.exists() and json.loads(path.read_text()).get("step") == latest_step(model.run_dir)):
        run(model.evals[n], args.one_process, args.tiny)
    return json.loads(path.read_text())


def measure(models: list[Model], args) -> dict:
    """Train (or resume) and evaluate every model; the scene's JSON rows."""
    rows: dict = {"any": {"choices": list(args.choices), "trained_n": args.trained_n, "by_n": {}}, "dedicated": {},
                  "parent": {}, "extracted": {}}
    parent_minutes = 0.0
    for model in models:
        started = time.time()
        with LoadMonitor() as load:
            run(model.train + (["--resume"] if (model.run_dir / "checkpoints").exists() else []), args.one_process,
                args.tiny)
        minutes = (time.time() - started) / 60
        by_n = {}
        for n in model.evals:
            results = evaluated(model, n, args)
            assert results["points_per_ray"] == n, (model.name, n, results["points_per_ray"])
            by_n[str(n)] = {key: results.get(key) for key in ("psnr", "ssim", "sec_per_image", "n_images")}
        if model.group == "parent":
            parent_minutes = minutes
        record = {"steps": latest_step(model.run_dir), "minutes": round(minutes, 1), "load_average": load.summary(),
                  "command": "jneusample " + " ".join(model.train)}
        if model.group == "extracted":  # its wall clock includes the parent's
            record.update(extraction_minutes=record["minutes"], minutes=round(parent_minutes + minutes, 1))
        if model.group == "any":
            rows["any"].update(record, by_n=by_n)
        else:
            (n, values), = by_n.items()
            rows[model.group][n] = {**record, **values}
        print(f"{model.name}: " + ", ".join(f"N={n} {v['psnr']:.2f} dB" for n, v in by_n.items()), flush=True)
    rows["psnr_any_minus_dedicated"] = {
        n: rows["any"]["by_n"][n]["psnr"] - rows["dedicated"][n]["psnr"] for n in rows["dedicated"]}
    rows["psnr_any_minus_best_dedicated"] = {
        n: rows["any"]["by_n"][n]["psnr"] - max(rows[group][n]["psnr"] for group in ("dedicated", "extracted")
                                                 if n in rows[group])
        for n in rows["dedicated"]}
    return rows


def parse_ints(text: str) -> list[int]:
    return [int(item) for item in text.split(",") if item.strip()]


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", default="lego,fern", help="comma-separated: lego, fern")
    parser.add_argument("--minutes", type=float, default=20.0, help="training wall clock of every model")
    parser.add_argument("--n-values", type=parse_ints, default=[8, 16, 32, 64],
                        help="N to evaluate at (each also gets its dedicated model; the trained N is added)")
    parser.add_argument("--choices", type=parse_ints, default=[8, 16, 32, 64],
                        help="model.samples_choices of the any-N model")
    parser.add_argument("--trained-n", type=int, default=32, help="model.n_samples of the any-N model")
    parser.add_argument("--set", dest="all_set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override of every trained model (any-N, dedicated, parent; an extraction "
                             "keeps its parent's), repeatable, e.g. model.interval_encoding=true")
    parser.add_argument("--any-set", action="append", default=[], metavar="KEY=VALUE",
                        help="another config override of the any-N model only (repeatable), e.g. "
                             "model.sample_field_histogram_loss=0")
    parser.add_argument("--extract-minutes", type=float, default=None,
                        help="E: the extraction's share of the budget (default: a quarter of --minutes; 0: no "
                             "extracted models)")
    parser.add_argument("--factor", type=int, default=8)
    parser.add_argument("--out", default="/tmp/any_n", help="where the runs go (not committed)")
    parser.add_argument("--results-dir", default=None, help="where any_n.json goes (default: benchmarks/results)")
    parser.add_argument("--one-process", action="store_true",
                        help="train as one process (JNEUSAMPLE_NO_RELAUNCH=1) instead of the preset's MPI ranks")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and exit")
    parser.add_argument("--tiny", action="store_true",
                        help="smoke test: tiny preset, demo scene at factor 4, 4 steps per model, N = 4 and 8, "
                             "every command in this process; results go into --out")
    args = parser.parse_args(argv)
    args.preset, args.steps, args.extract_steps = "cpu", 0, 0
    if args.extract_minutes is None:
        args.extract_minutes = args.minutes / 4
    if not 0 <= args.extract_minutes < args.minutes:
        parser.error(f"--extract-minutes must be in [0, --minutes), got {args.extract_minutes:g}")
    if args.tiny:
        args.preset, args.steps, args.extract_steps, args.factor = "tiny", 4, 2, 4
        args.n_values, args.choices, args.trained_n = [4, 8], [4, 8], 8
        args.results_dir = args.results_dir or args.out
    return args


def scenes_of(args) -> dict[str, tuple[Path, int]]:
    if args.tiny:
        return {"demo": (DEMO_SCENE, 4)}
    names = [name.strip() for name in args.scenes.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENES]
    if unknown:
        raise SystemExit(f"error: unknown scene(s) {', '.join(unknown)} (choose from: {', '.join(SCENES)})")
    return {name: SCENES[name] for name in names}


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    scenes = scenes_of(args)
    plans = {scene: plan(scene, data, skip, args) for scene, (data, skip) in scenes.items()}
    if args.dry_run:
        for scene, models in plans.items():
            for model in models:
                print(f"{scene} {model.name}:\n  jneusample " + " ".join(model.train))
                for command in model.evals.values():
                    print("  jneusample " + " ".join(command))
        return 0
    missing = [str(data) for data, _ in scenes.values() if not data.exists()]
    if missing:
        print(f"error: scene data not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    results_dir = Path(args.results_dir) if args.results_dir else RESULTS
    path = results_dir / f"{NAME}.json"
    previous = json.loads(path.read_text()).get("scenes", {}) if path.exists() else {}
    for scene, models in plans.items():
        data, skip = scenes[scene]
        previous[scene] = {"data": str(data), "factor": args.factor, "preset": args.preset, "eval_skip": skip,
                           "budget": f"{args.steps} steps" if args.steps else f"{args.minutes:g} minutes",
                           "every_model_set": list(args.all_set), "any_set": list(args.any_set),
                           **measure(models, args)}
        write_result(NAME, {"what": "test PSNR vs N of one any-N NeuSample (quantile head, samples drawn from "
                                    "model.samples_choices per step) against dedicated paper-head models per N, "
                                    "each model trained for the same wall clock",
                            "scenes": previous}, results_dir)
        print(json.dumps(previous[scene], indent=1), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
