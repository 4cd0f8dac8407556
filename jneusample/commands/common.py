"""Options and helpers shared by several subcommands."""
from __future__ import annotations

import argparse
import signal

from ..platform.fileio import check_writable_dir  # noqa: F401  (the commands' import path for it)


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, e.g. --set train.rays_per_step=2048 "
                             "--set model.n_samples=128 (repeatable; see jneusample/config.py for every field)")


def add_samples_option(parser: argparse.ArgumentParser) -> None:
    """``--samples N`` of the commands that render a run (eval, render, plot-samples)."""
    parser.add_argument("--samples", type=int, default=None, metavar="N",
                        help="render with N samples per ray (a run trained with model.sample_field_head=quantile "
                             "renders at any N; default: the run's model.n_samples); default outputs get an _nN "
                             "suffix")


def samples_suffix(samples: int | None) -> str:
    """``_n16`` for ``--samples 16``, '' without it: the default output names of runs rendered at another N."""
    return f"_n{samples}" if samples is not None else ""


def add_allow_outside_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-outside-paths", action="store_true",
                        help="let the scene's files (image paths, symlinks) point outside the scene folder; "
                             "by default they must stay inside it, so that a downloaded scene cannot make us "
                             "read other files")


def check_factor(factor: int | None) -> None:
    """``--factor`` of the commands that render a run: None (the run's) or a positive integer; 0 or less is a
    one-line error before anything is loaded (0 used to fall back to the run's factor silently)."""
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..errors import InputError

    if factor is not None and factor < 1:
        raise InputError(f"--factor must be a positive integer, got {factor}")


def interruptible() -> None:
    """Make Ctrl-C (SIGINT) raise KeyboardInterrupt again, for the commands that only read a run (eval, render, view,
    export, placement, plot-samples).

    Importing Jittor installs its C-level SIGINT handler, which prints "Caught SIGINT, quick exit" and exits 1
    from wherever the process is, skipping the clean-up of half-written outputs. With Python's own handler back,
    the interrupt unwinds the command (eval's staged folder and render's temporary video are removed) and
    :func:`jneusample.cli.main` prints one line and exits 130. Training has its own handlers (runguard).
    """
    from ..platform import backend  # noqa: F401  (imports Jittor, whose handler ours replaces)

    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread (a caller embedding the command): signals are not ours to set
        pass
