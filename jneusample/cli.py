"""The ``jneusample`` command: one subcommand per module in :mod:`jneusample.commands`."""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import InputError

COMMANDS = ("demo", "train", "eval", "extract", "render", "export", "plot_samples", "placement", "metrics", "bench", "process", "colmap2nerf")
"""Subcommand modules, in the order ``--help`` lists them; each has ``register(subparsers)``."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jneusample",
        description="NeuSample (neural sample fields for efficient view synthesis) on Jittor.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as exc:
            if exc.name == f"{__package__}.commands.{name}":
                continue  # a subcommand still being written
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if argv is None:  # started from a shell: a training command may restart itself under mpirun (launch.py)
        from . import launch

        launch.command_line = sys.argv[1:]
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
