#!/usr/bin/env python3
"""NeRF vs NeuSample on lego at factor 8 (100x100), CPU preset, the same wall-clock training budget each.

    python benchmarks/nerf_vs_neusample.py                    # 20 minutes of training per model
    python benchmarks/nerf_vs_neusample.py --minutes 1 --out /tmp/nvn --no-docs     # a smoke run

Both models use the ``cpu`` preset (same MLP widths, rays per step, schedule); NeRF's samples follow the preset
rule of ``config.nerf_sample_counts`` (N = 64 → 21 coarse + 43 importance, so its fine network sees as many
points as NeuSample's radiance field, as in the paper's 64 + 128 vs 192). Each trains for ``--minutes`` of wall
clock (``train(..., max_minutes=...)``; validation off so the whole budget trains), then both are evaluated on the
same test views (every 8th). Prints and writes ``--out``/nerf_vs_neusample.json and a markdown table, whose rows
are added to the "NeRF vs NeuSample" table of docs/benchmarks.md (unless ``--no-docs``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SECTION = "## NeRF vs NeuSample under the same training time — `benchmarks/nerf_vs_neusample.py`"
TABLE_HEADER = ("| date | scene | model | points / ray | training | PSNR | SSIM | LPIPS (vgg) | s / image | "
                "inf. cost | train points/s |\n|---|---|---|---|---|---|---|---|---|---|---|")
SECTION_TEXT = f"""{SECTION}

`python benchmarks/nerf_vs_neusample.py` trains NeRF and NeuSample with the `cpu` preset for the same wall-clock
budget each (`--minutes`, default 20), evaluates both on every 8th test view of lego at factor 8 (100x100), and adds
one row per model below. Inf. cost = seconds per image relative to NeRF's in the same run (evaluated one after
the other, so load changes on a shared machine show up here; `jneusample bench` measures cost interleaved).
Rows with a 1-minute budget are smoke runs of the script (a few dozen steps), not a quality comparison. JSON:
`benchmarks/out/nerf_vs_neusample/nerf_vs_neusample.json`.

{TABLE_HEADER}
"""


def add_rows(docs: Path, rows: list[str]) -> None:
    """Insert ``rows`` at the end of this benchmark's table in ``docs`` (creating the section if missing)."""
    text = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
    if SECTION not in text:
        text = text.rstrip("\n") + "\n\n" + SECTION_TEXT
    start = text.index(SECTION)
    header_end = text.index(TABLE_HEADER, start) + len(TABLE_HEADER)
    lines = text[header_end:].split("\n")
    end = 1  # lines[0] is the rest of the header's last line ('')
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    tail = "\n".join(lines[end:])
    body = "\n".join(lines[:end] + rows)
    docs.write_text(text[:header_end] + body + ("\n" + tail if tail else "\n"), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "nerf_synthetic" / "lego"),
                        help="Blender lego folder")
    parser.add_argument("--factor", type=int, default=8, help="downscale factor (8: 100x100)")
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget per model (wall clock)")
    parser.add_argument("--skip", type=int, default=8, help="evaluate every k-th test view")
    parser.add_argument("--lpips", default="none", help="LPIPS nets for the evaluation: alex,vgg | alex | vgg | none")
    parser.add_argument("--models", default="nerf,neusample", help="which of nerf,neusample to run")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "out" / "nerf_vs_neusample"))
    parser.add_argument("--fresh", action="store_true", help="delete earlier runs in --out instead of resuming them")
    parser.add_argument("--no-docs", action="store_true", help="do not add rows to docs/benchmarks.md")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="config override key=value, applied to both models")
    args = parser.parse_args()
    if not Path(args.data).exists():
        print(f"error: {args.data}: lego scene not found (pass --data)", file=sys.stderr)
        return 2
    kinds = [k.strip() for k in args.models.split(",") if k.strip()]
    if not kinds or any(k not in ("nerf", "neusample") for k in kinds):
        print(f"error: --models {args.models!r}: expected nerf, neusample or both", file=sys.stderr)
        return 2
    if args.minutes <= 0:
        print(f"error: --minutes {args.minutes}: expected a positive budget", file=sys.stderr)
        return 2

    import shutil

    from jneusample.commands.eval import parse_nets
    from jneusample.config import apply_overrides, preset
    from jneusample.data import load_scene
    from jneusample.evaluation.evaluate import EvalOptions, evaluate
    from jneusample.training.trainer import train

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scene = load_scene(args.data, factor=args.factor, testskip=1)
    info = {"data": str(Path(args.data).resolve()), "format": scene.format, "factor": args.factor,
            "height": scene.intrinsics.height, "width": scene.intrinsics.width}
    options = EvalOptions(split="test", skip=args.skip, lpips_nets=parse_nets(args.lpips))
    models = {}
    for kind in kinds:
        config = preset("cpu")
        config.model.kind = kind
        config = apply_overrides(config, [f"data.factor={args.factor}", "train.validate_every=0", *args.overrides])
        run_dir = out / kind
        if args.fresh and run_dir.exists():
            shutil.rmtree(run_dir)
        print(f"--- {kind}: training for {args.minutes:g} min", file=sys.stderr)
        started = time.time()
        trained = train(config, scene, run_dir, resume=(run_dir / "checkpoints").exists(),
                        max_minutes=args.minutes, scene_info=info)
        seconds = time.time() - started
        print(f"--- {kind}: evaluating every {args.skip}th test view", file=sys.stderr)
        result = evaluate(run_dir, options)
        models[kind] = {
            "points_per_ray": result["points_per_ray"], "n_samples": config.model.n_samples,
            "n_coarse": config.model.n_coarse if kind == "nerf" else None,
            "n_importance": config.model.n_importance if kind == "nerf" else None,
            "steps": trained.step, "train_seconds": round(seconds, 1),
            "train_points_per_sec": trained.points_per_sec,
            **{k: result.get(k) for k in ("psnr", "ssim", "lpips_vgg", "lpips_alex", "sec_per_image",
                                          "rays_per_sec", "n_images")},
        }
    if "nerf" in models:
        for entry in models.values():
            entry["inf_cost"] = entry["sec_per_image"] / models["nerf"]["sec_per_image"]
    summary = {"scene": scene.name, "factor": args.factor,
               "resolution": f"{scene.intrinsics.width}x{scene.intrinsics.height}", "preset": "cpu",
               "minutes_per_model": args.minutes, "test_skip": args.skip, "models": models}
    (out / "nerf_vs_neusample.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))

    rows = []
    for kind, m in models.items():
        lpips = f"{m['lpips_vgg']:.3f}" if m.get("lpips_vgg") is not None else "–"
        cost = f"{m['inf_cost']:.2f}" if m.get("inf_cost") is not None else "–"
        label = (f"NeRF {m['n_coarse']}+{m['n_importance']}" if kind == "nerf" else f"NeuSample N={m['n_samples']}")
        rows.append(f"| {time.strftime('%Y-%m-%d')} | {scene.name} x{args.factor} | {label} | {m['points_per_ray']} | "
                    f"{m['steps']} steps / {args.minutes:g} min | {m['psnr']:.2f} | {m['ssim']:.3f} | {lpips} | "
                    f"{m['sec_per_image']:.2f} s | {cost} | {m['train_points_per_sec']:.0f} |")
    print("\n" + TABLE_HEADER + "\n" + "\n".join(rows))
    if not args.no_docs:
        add_rows(REPO / "docs" / "benchmarks.md", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
