"""Test PSNR of sample field extraction to N_e ≈ N/3 at equal steps: plain, with a start, distilled.

    python benchmarks/extraction_distill.py [--scene fern] [--variant NAME=KEY=VALUE[,KEY=VALUE]]

Each variant: ``jneusample extract --run PARENT --samples N_e --steps S --set train.schedule=steps --set ...`` (a
fresh process; the steps schedule lifts the parent's time cap, so each runs exactly S steps) and ``eval --lpips
none`` on the test split: ``plain`` (the reference port: fresh head, photometric loss), ``start``
(``extract.head_init=quantiles``), ``distilled`` (plus ``extract.distill=coverage``, the cpu preset's). Merged by
scene and variant, with the parent's PSNR and the dB lost.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import harness as h

SPEC = h.Spec("extraction_distill", __doc__, out="/tmp/distill")
PARENTS = {scene: h.REPO / "runs" / "pretrained" / f"{scene}-x8-cpu" for scene in ("lego", "fern")}
VARIANTS = {"plain": ["extract.head_init=fresh", "extract.distill=none"],
            "start": ["extract.head_init=quantiles", "extract.distill=none"],
            "distilled": ["extract.head_init=quantiles", "extract.distill=coverage"]}


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("--scene", default="lego", choices=sorted(PARENTS))
    parser.add_argument("--parent", type=Path, default=None, help="parent run (default: the scene's pretrained run)")
    parser.add_argument("--samples", type=int, default=None, help="N_e (default: round(N/3))")
    parser.add_argument("--steps", type=int, default=1000, help="fine-tuning steps (the cpu preset's)")
    parser.add_argument("--variants", type=h.parse_list(), default=list(VARIANTS), help="built-in variants")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=KEY=VALUE[,KEY=VALUE]",
                        help="an extra variant: its name and --set overrides")
    args = SPEC.parse(parser, argv)
    parent, skip = args.parent or PARENTS[args.scene], h.SCENES[args.scene][2]
    n = json.loads((parent / "config.json").read_text())["model"]["n_samples"]
    n_e = args.samples or max(2, round(n / 3))
    variants = {name: VARIANTS[name] for name in args.variants}
    variants.update((item.split("=", 1)[0], item.split("=", 1)[1].split(",")) for item in args.variant)
    parent_psnr = h.evaluated(parent, skip, one_process=True)["psnr"]
    measured = {}
    for name, sets in variants.items():
        out = Path(args.out) / f"{args.scene}-n{n_e}-{name}"
        # train.schedule=steps only lifts the parent's time cap (an extraction's rates are constant)
        command = ["extract", "--run", str(parent), "--samples", str(n_e), "--steps", str(args.steps), "--out",
                   str(out), "--no-progress", "--set", "train.schedule=steps", *h.sets(sets)]
        started = time.time()
        with h.Alone(f"{args.scene} {name}") as load:
            if not (out / "checkpoints" / f"step_{args.steps:08d}.ckpt").exists():
                h.jneusample(command + (["--resume"] if (out / "config.json").exists() else []), one_process=True)
        child = h.evaluated(out, skip, one_process=True)
        measured[name] = {"set": sets, "n_e": n_e, "steps": child["step"], "psnr": child["psnr"],
                          "ssim": child["ssim"], "db_lost": parent_psnr - child["psnr"],
                          "minutes": round((time.time() - started) / 60, 1), "load_average": load.summary(),
                          "command": " ".join(["-m", "jneusample", *command])}
        print(f"{args.scene} {name}: {child['psnr']:.2f} dB (parent {parent_psnr:.2f})", flush=True)
    scenes = {}

    def update(stored: dict) -> dict:  # other invocations may have added rows since the start
        scenes.update(stored.get("scenes", {}))
        rows = scenes.setdefault(args.scene, {"variants": {}})
        rows.update(parent=str(parent.relative_to(h.REPO)) if parent.is_relative_to(h.REPO) else str(parent), n=n,
                    parent_psnr=parent_psnr)
        rows["variants"].update(measured)
        if "plain" in rows["variants"] and "distilled" in rows["variants"]:
            rows["db_lost_ratio"] = rows["variants"]["distilled"]["db_lost"] / rows["variants"]["plain"]["db_lost"]
        return {"scenes": scenes}

    SPEC.write(args, update)
    print(json.dumps(scenes[args.scene], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
