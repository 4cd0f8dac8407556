#!/usr/bin/env python3
"""Copy a trained run into pretrained/<name>/ with a model-only checkpoint (no optimizer state: ~3x smaller).

    python scripts/package_pretrained.py RUN_DIR pretrained/NAME [--data-as ../shared/data/nerf_synthetic/lego]

The copy keeps config.json, scene.json (with the data path rewritten to --data-as, relative to the repository
root, so that `jneusample eval --run pretrained/NAME` works from a checkout), metrics.jsonl and the eval reports
(results.json / results.md, not the PNGs). `--resume` is not possible from such a checkpoint; eval, render,
plot-samples and extract are.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jneusample.platform.checkpoint import latest_checkpoint, load_checkpoint  # noqa: E402
from jneusample.platform.fileio import atomic_write_bytes, write_json  # noqa: E402
from jneusample.platform.runs import read_scene_info, write_scene_info  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("dest")
    parser.add_argument("--data-as", default=None, help="data path to record in scene.json")
    parser.add_argument("--parent-as", default=None,
                        help="extracted runs: the packaged parent's path to record as extract.parent, in config.json "
                             "and in the checkpoint alike")
    args = parser.parse_args()
    run, dest = Path(args.run), Path(args.dest)
    checkpoint = latest_checkpoint(run)
    if checkpoint is None:
        print(f"error: {run}: no checkpoint", file=sys.stderr)
        return 2
    state = load_checkpoint(checkpoint)
    slim = {k: v for k, v in state.items() if k not in ("optimizer", "sampler_per_rank")}
    config = json.loads((run / "config.json").read_text())
    if args.parent_as:
        config["extract"]["parent"] = args.parent_as
        slim["config"]["extract"]["parent"] = args.parent_as
    dest.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(dest / "checkpoints" / checkpoint.name, pickle.dumps(slim, protocol=pickle.HIGHEST_PROTOCOL))
    write_json(dest / "config.json", config)
    if (run / "metrics.jsonl").exists():
        shutil.copy2(run / "metrics.jsonl", dest / "metrics.jsonl")
    info = read_scene_info(run)
    if args.data_as:
        info = dataclasses.replace(info, data=args.data_as)
    write_scene_info(dest, info)
    for report in run.glob("eval_*"):
        (dest / report.name).mkdir(exist_ok=True)
        for name in ("results.json", "results.md"):
            if (report / name).exists():
                shutil.copy2(report / name, dest / report.name / name)
    print(f"packaged {checkpoint} -> {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
