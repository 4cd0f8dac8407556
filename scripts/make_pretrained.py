#!/usr/bin/env python3
"""Make every model in pretrained/ from scratch, end to end: train, evaluate, extract, package.

    python scripts/make_pretrained.py                  # ~55 minutes on 2 CPU cores; runs go to runs/pretrained/
    python scripts/make_pretrained.py --runs DIR       # reuse the runs already in DIR (training is skipped when
                                                       # the run has a checkpoint, evaluation when it has one)

Steps (each a `jneusample` command, printed before it runs):
1. `demo` → pretrained/demo
2. lego x8, `train --preset cpu --max-minutes 20` (through benchmarks/learn_fast.py, which records it in
   benchmarks/results/learn_fast.json), `eval --skip 8 --lpips vgg,alex` → pretrained/lego-x8-cpu-n32
3. `extract --samples N/3` from it (the paper's 192 → 64 ratio; the cpu preset's distilled extraction),
   `eval` → pretrained/lego-x8-cpu-n11
4. fern x8, the same (recorded likewise), `eval --lpips vgg,alex` → pretrained/fern-x8-cpu-n32
5. `placement` on every packaged NeuSample model (its test views; lego every 8th): the spread of the samples
   across rays and the PSNR of each ray's own samples minus the field's mean placement given to every ray
   (issue 22: a field whose gap is ~0 places one global set of samples) → pretrained/NAME/placement_test.json
Packaging (`scripts/package_pretrained.py`) keeps model-only checkpoints, configs, metrics and eval reports, and
records the data and parent paths relative to the repository root, in config.json and checkpoint alike.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from jneusample.config import preset  # noqa: E402  (no Jittor: config only)
SHARED = "../shared/data"


def sh(*args: str) -> None:
    print("$", " ".join(args), flush=True)
    subprocess.run(list(args), cwd=REPO, check=True)


def jns(*args: str) -> None:
    sh(sys.executable, "-m", "jneusample", *args)


def learn_fast(scene: str, run: Path, minutes: float) -> None:
    """`train --preset cpu --max-minutes M` and a quick test evaluation through benchmarks/learn_fast.py, which
    records the run (test PSNR, steps, points/s, validation curve, load) in benchmarks/results/learn_fast.json."""
    sh(sys.executable, "benchmarks/learn_fast.py", "--scene", scene, "--minutes", str(minutes), "--variant", "cpu",
       "--run-dir", str(run))


def trained(run: Path) -> bool:
    """The run exists and has a checkpoint (a budget-limited run that finished, or one this script resumes)."""
    return any((run / "checkpoints").glob("step_*.ckpt"))


def evaluated(run: Path, split: str = "test", lpips: bool = True) -> bool:
    """The run has its evaluation (with LPIPS when ``lpips``)."""
    path = run / f"eval_{split}" / "results.json"
    return path.exists() and (not lpips or "lpips_vgg" in json.loads(path.read_text()))


def package(run: Path, name: str, data_as: str | None = None, parent_as: str | None = None) -> None:
    extra = (["--data-as", data_as] if data_as else []) + (["--parent-as", parent_as] if parent_as else [])
    dest = REPO / "pretrained" / name
    if dest.exists():
        sh("rm", "-r", str(dest))
    sh(sys.executable, "scripts/package_pretrained.py", str(run), str(dest), *extra)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=str(REPO / "runs" / "pretrained"), help="where the full runs go")
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget of lego and fern")
    parser.add_argument("--extract-minutes", type=float, default=4.0)
    parser.add_argument("--only", default="demo,lego,extract,fern,placement",
                        help="comma-separated steps (placement alone re-measures the packaged models)")
    args = parser.parse_args()
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    steps = set(args.only.split(","))
    lego_data, fern_data = f"{SHARED}/nerf_synthetic/lego", f"{SHARED}/nerf_llff_data/fern"

    if "demo" in steps:
        demo = runs / "demo"
        if not evaluated(demo, lpips=False):
            jns("demo", "--out", str(demo), "--no-progress")
        package(demo, "demo", data_as="jneusample/assets/demo_scene")  # the shipped scene, from the repo root
    lego = runs / "lego-x8-cpu"
    if "lego" in steps:
        if not trained(lego):
            learn_fast("lego", lego, args.minutes)
        if not evaluated(lego):
            jns("eval", "--run", str(lego), "--skip", "8", "--lpips", "vgg,alex", "--no-progress")
        n = json.loads((lego / "config.json").read_text())["model"]["n_samples"]
        package(lego, f"lego-x8-cpu-n{n}", data_as=lego_data)
    if "extract" in steps:
        n = json.loads((lego / "config.json").read_text())["model"]["n_samples"]
        n_e = max(2, round(n / 3))
        child = runs / f"lego-x8-cpu-n{n_e}"
        if not trained(child):
            # the cpu preset's extraction (a parent's config may predate these fields, which then mean the port's):
            # its extract.steps on a steps schedule, as benchmarks/extraction_distill.py measured it (reproducible;
            # --max-minutes only caps the run)
            extraction = preset("cpu").extract
            jns("extract", "--run", str(lego), "--samples", str(n_e), "--max-minutes", str(args.extract_minutes),
                "--out", str(child), "--no-progress", "--set", f"extract.head_init={extraction.head_init}",
                "--set", f"extract.distill={extraction.distill}", "--set", "train.schedule=steps")
        if not evaluated(child):
            jns("eval", "--run", str(child), "--skip", "8", "--lpips", "vgg,alex", "--no-progress")
        package(child, f"lego-x8-cpu-n{n_e}", data_as=lego_data, parent_as=f"pretrained/lego-x8-cpu-n{n}")
    if "fern" in steps:
        fern = runs / "fern-x8-cpu"
        if not trained(fern):
            learn_fast("fern", fern, args.minutes)
        if not evaluated(fern):
            jns("eval", "--run", str(fern), "--lpips", "vgg,alex", "--no-progress")
        n = json.loads((fern / "config.json").read_text())["model"]["n_samples"]
        package(fern, f"fern-x8-cpu-n{n}", data_as=fern_data)
    if "placement" in steps:
        for model in sorted(p for p in (REPO / "pretrained").iterdir() if (p / "config.json").exists()):
            if json.loads((model / "config.json").read_text())["model"].get("kind", "neusample") == "neusample":
                skip = "8" if model.name.startswith("lego") else "1"
                jns("placement", "--run", str(model.relative_to(REPO)), "--skip", skip)
    write_summary()
    return 0


def write_summary() -> None:
    """benchmarks/results/pretrained.json: the test metrics of every packaged model (README's pretrained table),
    and for NeuSample models where their samples go: spread across rays and own-vs-mean gap (placement_test.json)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import harness

    models = {}
    for results in sorted((REPO / "pretrained").glob("*/eval_*/results.json")):
        data = json.loads(results.read_text())
        keep = ("split", "n_images", "width", "height", "step", "points_per_ray", "psnr", "ssim", "lpips_vgg",
                "lpips_alex", "sec_per_image")
        models[results.parent.parent.name] = {k: data[k] for k in keep if k in data}
    for study in sorted((REPO / "pretrained").glob("*/placement_test.json")):
        data = json.loads(study.read_text())
        models.setdefault(study.parent.name, {})["placement"] = {
            k: data[k] for k in ("views", "spread_across_rays", "own_psnr", "mean_placement_psnr", "own_minus_mean_db")}
    harness.Spec("pretrained", "test metrics of the models in pretrained/ (their eval reports) and, for NeuSample "
                 "models, the placement study (`jneusample placement`)").write(None, {"models": models})


if __name__ == "__main__":
    sys.exit(main())
