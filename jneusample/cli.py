"""The ``jneusample`` command: one subcommand per module in :mod:`jneusample.commands`."""
from __future__ import annotations

import argparse
import importlib
import sys
import os
import time

from .errors import InputError

COMMANDS = ("demo", "train", "eval", "extract", "render", "export", "plot_samples", "placement", "view", "metrics", "bench", "process", "colmap2nerf")
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
        # deferred: Jittor and the launcher start only once the arguments parsed
        from .platform import launch

        launch.command_line = sys.argv[1:]
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .platform import runguard  # after --help and argument errors, which need none of the platform

    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        return report_error(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        runguard.release_early()  # a training command that ended before its loop: our handlers go


ERROR_GRACE_SECONDS = 5.0
"""How long a rank other than 0 keeps its error to itself: rank 0 meets the same bad input at about the same time,
and when it exits ``mpirun`` ends the job, so the error is said once, by rank 0."""


def report_error(exc: InputError) -> int:
    """Print ``error: <message>`` once per job and return (one process) or exit (MPI rank) with status 2.

    Under MPI only rank 0 prints at once. Another rank waits :data:`ERROR_GRACE_SECONDS` (``mpirun`` ends it
    meanwhile when rank 0 failed too) and then prints its error naming itself: a problem only it met. A rank then
    leaves without MPI's finalisation, which would wait for ranks still inside a collective; ``mpirun`` ends
    them. Ranks of a launch that Jittor did not join (a refused launcher) fail alike: only rank 0 speaks.
    """

    # deferred: Jittor and the launcher start only once the arguments parsed
    from .platform.startup import launcher_rank, launcher_world_size

    backend = sys.modules.get(f"{__package__}.platform.backend")
    joined = backend is not None and hasattr(backend, "jt") and backend.in_mpi()
    rank = launcher_rank() if launcher_world_size() > 1 else 0
    if rank == 0:
        print(f"error: {exc}", file=sys.stderr, flush=True)
    elif joined:
        time.sleep(ERROR_GRACE_SECONDS)
        print(f"error: (MPI rank {rank}) {exc}", file=sys.stderr, flush=True)
    if not joined:
        return 2
    sys.stdout.flush()
    os._exit(2)


if __name__ == "__main__":
    sys.exit(main())
