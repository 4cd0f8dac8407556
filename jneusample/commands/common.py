"""Options and helpers shared by several subcommands."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, e.g. --set train.rays_per_step=2048 "
                             "--set model.n_samples=128 (repeatable; see jneusample/config.py for every field)")


def check_writable_dir(path: Path) -> None:
    """Fail early, with the path in the message, when results could not be written there."""
    path = Path(path)
    probe = path
    while not probe.exists():
        probe = probe.parent
    import os

    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise InputError(f"{path}: output location is not writable")
