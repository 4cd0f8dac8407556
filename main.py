"""Compatibility entry point for users of the reference Jittor port (``python main.py --stage ...``).

Each stage of the port maps onto one ``jneusample`` command, which this script runs in-process (so it works
unchanged under ``mpirun -np 4 python main.py --stage train --obj_class lego``)::

    --stage train      → jneusample train   --data DATA --preset PRESET --out WORK/OBJ/PRESET   (resumes if it exists)
    --stage test       → jneusample eval    --run WORK/OBJ/PRESET --split val
    --stage fine_tune  → jneusample extract --run LOAD_PATH --samples 64 --out WORK/OBJ/PRESET-n64
    --stage test2      → jneusample eval    --run WORK/OBJ/PRESET-n64 --split val

DATA defaults to ``dataset/nerf_synthetic/<obj_class>`` (the port's layout); ``--load_path`` names a run
directory (the port's ``.pkl`` checkpoints cannot be loaded). Arguments after ``--`` go to the command as is,
e.g. ``python main.py --stage train -- --steps 1000 --set train.rays_per_step=2048``. The port evaluated on
the val split (100 Blender images), hence ``--split val``. Differences from the port: an unknown stage is an
error (the port ran ``test2``), and ``--work_dir`` gets one folder per object and preset.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

STAGES = ("train", "test", "fine_tune", "test2")
PRESETS = ("paper", "cpu", "tiny")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Reference-port compatible front end of JNeuSample: each --stage runs a `jneusample` "
                    "command (printed as a note). Arguments after `--` are passed to that command.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--stage", default="test2",
                        help="train | test (evaluate the trained run on val) | fine_tune (extract a 64-sample "
                             "field) | test2 (evaluate the extracted run on val)")
    parser.add_argument("--obj_class", default="lego", help="Blender object (folder name under the data root)")
    parser.add_argument("--data", default=None,
                        help="scene folder (default: dataset/nerf_synthetic/<obj_class>, as the port expects)")
    parser.add_argument("--work_dir", default="./out", help="where runs go: WORK_DIR/<obj_class>/<preset>[-n64]")
    parser.add_argument("--load_path", default=None,
                        help="run directory to start from: the trained run for fine_tune/test, the extracted "
                             "run for test2 (default: the one this script's train/fine_tune stage made)")
    parser.add_argument("--preset", default="paper", choices=PRESETS,
                        help="jneusample compute preset (paper = the port's configuration)")
    parser.add_argument("--samples", type=int, default=64, help="N_e of the fine_tune stage (the port: 64)")
    parser.add_argument("--dry-run", action="store_true", help="print the jneusample command and exit")
    return parser


class StageError(Exception):
    """A one-line user error (printed as ``error: ...``, exit status 2)."""


def _has_checkpoint(run_dir: Path) -> bool:
    return any((run_dir / "checkpoints").glob("step_*.ckpt"))


def _run_dir(path: str, what: str) -> Path:
    run = Path(path)
    if run.is_file():
        raise StageError(f"--load_path {path}: is a file; expected a run directory made by `--stage {what}` "
                         "(the reference port's .pkl checkpoints cannot be loaded)")
    return run


def command_for(args: argparse.Namespace, extra: list[str]) -> list[str]:
    """The ``jneusample`` argument list that ``args`` (this script's options) stands for."""
    if args.stage not in STAGES:
        raise StageError(f"--stage {args.stage!r}: unknown stage (choose from: {', '.join(STAGES)})")
    base = Path(args.work_dir) / args.obj_class
    trained = base / args.preset
    extracted = base / f"{args.preset}-n{args.samples}"
    if args.stage == "train":
        data = Path(args.data) if args.data else Path("dataset") / "nerf_synthetic" / args.obj_class
        if not data.is_dir():
            raise StageError(f"{data}: scene folder not found (the port's layout is "
                             f"dataset/nerf_synthetic/<obj_class>); pass --data DIR")
        command = ["train", "--data", str(data), "--preset", args.preset, "--out", str(trained)]
        if _has_checkpoint(trained) and "--resume" not in extra:
            command.append("--resume")  # the port restarts the stage; we continue the run instead
        return command + extra
    if args.stage == "test":
        run = _run_dir(args.load_path, "train") if args.load_path else trained
        return ["eval", "--run", str(run), "--split", "val"] + extra
    if args.stage == "fine_tune":
        parent = _run_dir(args.load_path, "train") if args.load_path else trained
        command = ["extract", "--run", str(parent), "--samples", str(args.samples), "--out", str(extracted)]
        if _has_checkpoint(extracted) and "--resume" not in extra:
            command.append("--resume")
        return command + extra
    run = _run_dir(args.load_path, "fine_tune") if args.load_path else extracted
    return ["eval", "--run", str(run), "--split", "val"] + extra


def _is_root() -> bool:
    """Rank 0 (or no MPI), from the launcher's variables: Jittor is not imported yet."""
    return os.environ.get("OMPI_COMM_WORLD_RANK", os.environ.get("PMI_RANK", "0")) == "0"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    args = build_parser().parse_args(argv)
    try:
        command = command_for(args, extra)
    except StageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    line = "python -m jneusample " + " ".join(shlex.quote(part) for part in command)
    if args.dry_run:
        print(line)
        return 0
    if _is_root():
        print(f"note: main.py --stage {args.stage} runs: {line}  (the new command line; see README.md)",
              file=sys.stderr)
    from jneusample.cli import main as jneusample_main

    return jneusample_main(command)


if __name__ == "__main__":
    sys.exit(main())
