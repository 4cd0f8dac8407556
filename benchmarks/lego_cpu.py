#!/usr/bin/env python3
"""Lego at factor 8 (100x100) on the CPU: train the `cpu` preset for a wall-clock budget, evaluate, extract, evaluate.

    python benchmarks/lego_cpu.py                      # 20 minutes of training, 5 of extraction
    python benchmarks/lego_cpu.py --minutes 2 --extract-minutes 1 --out /tmp/lego_quick

Prints and writes (``--out``/lego_cpu.json) the test PSNR/SSIM/LPIPS on every 8th test view for N (trained) and
N_e (extracted), the PSNR-vs-time curve (validation PSNR on 4 val views during training), training points/s,
rendering points/s, and appends a row to docs/benchmarks.md. Also measures training throughput at the paper's
width (256) for comparison with a plain NeRF MLP in Jittor on the same machine (docs/protocol.md §3: ~26k points/s).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def paper_width_training_throughput(scene, steps: int = 4) -> float:
    """Training points/s of NeuSample at the paper's width (256) and N=192, 1024 rays/step, after warm-up."""
    from jneusample.platform.backend import jt
    from jneusample.config import preset
    from jneusample.data.batches import RayBatcher
    from jneusample.models.registry import build_model
    from jneusample.training.optim import make_optimizer, param_groups
    from jneusample.rendering import Rays, render_settings

    config = preset("paper")
    config.train.rays_per_step = 1024
    model = build_model(config.model)
    optimizer = make_optimizer(param_groups(model, config))
    sampler = RayBatcher(scene, 1024, 1.0, 0, seed=0)
    settings = render_settings(scene, config, training=True)

    def step(i):
        batch = sampler.sample(i)
        outputs = model(Rays.from_numpy(batch.origins, batch.directions, batch.view_dirs), settings)
        optimizer.step(model.loss(outputs, jt.array(batch.target)))
        jt.sync_all(True)

    step(0)  # compile
    start = time.perf_counter()
    for i in range(steps):
        step(i + 1)
    return 1024 * 192 * steps / (time.perf_counter() - start)


def val_curve(run_dir: Path) -> list[dict]:
    lines = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines() if l.strip()]
    return [{"step": l["step"], "elapsed_s": round(l.get("elapsed_s", float("nan")), 1), "val_psnr": round(l["val_psnr"], 2)}
            for l in lines if "val_psnr" in l]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "nerf_synthetic" / "lego"))
    parser.add_argument("--factor", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget (wall clock)")
    parser.add_argument("--extract-minutes", type=float, default=5.0, help="extraction budget (0: skip)")
    parser.add_argument("--samples", type=int, default=None, help="N_e of the extraction (default: N/3)")
    parser.add_argument("--lpips", default="alex,vgg", help="LPIPS nets for the evaluation (or none)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "out" / "lego_cpu"))
    parser.add_argument("--no-docs", action="store_true", help="do not append to docs/benchmarks.md")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override key=value")
    args = parser.parse_args()
    if not Path(args.data).exists():
        print(f"error: {args.data}: lego scene not found (pass --data)", file=sys.stderr)
        return 2

    from jneusample.commands.eval import parse_nets
    from jneusample.config import apply_overrides, preset
    from jneusample.data import load_scene
    from jneusample.evaluation.evaluate import EvalOptions, evaluate
    from jneusample.training.extract import extract
    from jneusample.training.trainer import train

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = apply_overrides(preset("cpu"), [f"data.factor={args.factor}", "data.testskip=8", *args.overrides])
    config.train.validate_every = max(1, config.train.steps // 12)
    scene = load_scene(args.data, factor=args.factor, testskip=1)
    info = {"data": str(Path(args.data).resolve()), "format": scene.format, "factor": args.factor,
            "height": scene.intrinsics.height, "width": scene.intrinsics.width}
    nets = parse_nets(args.lpips)
    options = EvalOptions(split="test", skip=8, lpips_nets=nets)

    run192 = out / "train"
    started = time.time()
    trained = train(config, scene, run192, resume=(run192 / "checkpoints").exists(), max_minutes=args.minutes,
                    scene_info=info)
    train_seconds = time.time() - started
    results = {"trained": evaluate(run192, options)}
    rows = [("trained", config.model.n_samples, results["trained"])]
    extracted = None
    if args.extract_minutes > 0:
        n_e = args.samples or max(2, config.model.n_samples // 3)
        run_e = out / f"extract-n{n_e}"
        extracted = extract(run192, n_e, run_e, resume=(run_e / "checkpoints").exists(),
                            max_minutes=args.extract_minutes)
        results["extracted"] = evaluate(run_e, options)
        rows.append(("extracted", n_e, results["extracted"]))
    summary = {
        "scene": "lego", "factor": args.factor, "resolution": f"{scene.intrinsics.width}x{scene.intrinsics.height}",
        "preset": "cpu", "train_minutes_budget": args.minutes, "train_seconds": round(train_seconds, 1),
        "train_steps": trained.step, "train_points_per_sec": round(trained.points_per_sec),
        "paper_width_train_points_per_sec": round(paper_width_training_throughput(scene)),
        "val_curve": val_curve(run192),
        "extract_steps": extracted.step if extracted else None,
        "models": {name: {"n_samples": n, **{k: r.get(k) for k in ("psnr", "ssim", "lpips_vgg", "lpips_alex",
                                                                     "sec_per_image", "rays_per_sec", "n_images")},
                          "render_points_per_sec": r["rays_per_sec"] * n}
                   for name, n, r in rows},
    }
    (out / "lego_cpu.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    lines = []
    for name, n, r in rows:
        lpv = f"{r['lpips_vgg']:.3f}" if r.get("lpips_vgg") is not None else "–"
        lines.append(f"| {time.strftime('%Y-%m-%d')} | lego x{args.factor} | cpu, {name} N={n} | "
                     f"{trained.step if name == 'trained' else extracted.step} steps / {args.minutes if name == 'trained' else args.extract_minutes:g} min | "
                     f"{r['psnr']:.2f} | {r['ssim']:.3f} | {lpv} | {r['sec_per_image']:.2f} s | "
                     f"{summary['train_points_per_sec']} | {r['rays_per_sec'] * n:.0f} |")
    print("\n".join(lines))
    if not args.no_docs:
        docs = REPO / "docs" / "benchmarks.md"
        if not docs.exists():
            docs.write_text("# Benchmarks\n")
        with open(docs, "a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
