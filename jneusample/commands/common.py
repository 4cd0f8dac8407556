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
    """Fail early, with the path in the message, when results could not be written under ``path``.

    Tries to create (and remove) a scratch file in the nearest existing folder: ``os.access`` says yes to
    root even where writes fail (read-only mounts, /proc).
    """
    import tempfile

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: output location is not writable (it exists and is not a folder)")
    probe = path
    while not probe.exists():
        probe = probe.parent
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError:
        raise InputError(f"{path}: output location is not writable") from None
