"""What keeps a training run safe from its surroundings: the run lock, stop signals, divergence.

:func:`guarded` wraps :func:`jneusample.train.train`: for the whole call rank 0 holds the run directory's lock
(:mod:`jneusample.runlock`) and SIGINT, SIGTERM and SIGHUP only *ask* the loop to stop. The loop polls
:func:`stop_requested` once per step (next to its time limit), finishes the step, writes a checkpoint and
returns; the command then says how to resume and exits 128 + the signal number (130, 143, 129).

Jittor installs its own C-level SIGINT handler when it is imported (it prints "Caught SIGINT, quick exit" and
exits 1, losing every step since the last checkpoint), so our handlers must be installed after Jittor's
import, which :func:`guarded` does by construction (it runs inside ``train``). A second signal while the
step finishes quits at once.
"""
from __future__ import annotations

import functools
import inspect
import math
import os
import signal
import sys
from typing import Any, Callable

from .errors import InputError

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

_received: list[int] = []
"""Signals received while training (in order); reset by every :func:`guarded` call."""
_owner_pid: list[int] = []
"""The process that installed the handlers. Processes forked from it (Jittor's compiler pool, data workers)
inherit the handlers but must keep the default behaviour: a pool terminates its workers with SIGTERM."""


def exit_status(signum: int) -> int:
    """The shell's exit status for a process stopped by ``signum``: 128 + signum (SIGINT 130, SIGTERM 143)."""
    return 128 + int(signum)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _handle(signum: int, frame) -> None:
    forked_child = not _owner_pid or os.getpid() != _owner_pid[0]
    if forked_child and signum == signal.SIGINT:
        return  # Ctrl-C reaches the whole process group: the trainer decides, its workers must not die mid-task
    if forked_child or _received:
        # A forked child (a pool terminates its workers with SIGTERM), or the second signal (the user does not
        # want to wait for the checkpoint): the default action, now.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _received.append(signum)
    print(f"\n{signal_name(signum)} received: stopping after the current step and writing a checkpoint "
          "(send it again to quit at once)", file=sys.stderr, flush=True)


def _install() -> dict[int, Any]:
    """Install our handlers; returns the previous ones (None where a C handler, e.g. Jittor's, was installed)."""
    previous = {}
    _owner_pid[:] = [os.getpid()]
    for signum in STOP_SIGNALS:
        try:
            previous[signum] = signal.signal(signum, _handle)
        except ValueError:  # not the main thread: signals cannot be handled here, leave them alone
            return previous
    return previous


def _restore(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        if handler is None:  # a handler installed outside Python (Jittor's): Python's default instead
            handler = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(signum, handler)
        except ValueError:
            pass


def stop_requested() -> int:
    """The signal number that asked training to stop (0: none). Collective under MPI (call it on every rank):
    when any rank received one, every rank gets a non-zero answer, so that they all stop at the same step."""
    from . import backend, distributed

    local = _received[0] if _received else 0
    if not backend.in_mpi():
        return local
    if not distributed.any_rank(bool(local)):
        return 0
    received = [s for s in distributed.gather_objects(local) if s]
    return local or received[0]


def check_loss(loss_value: float, step: int, run_dir) -> None:
    """Stop with a one-line error when the loss is not finite (training diverged). Collective under MPI.

    Called after the optimizer step and before anything is logged or checkpointed for ``step``: the
    non-finite parameters are never written, and no good checkpoint is pruned because of them.
    """
    from . import distributed
    from .checkpoint import latest_checkpoint

    bad = not math.isfinite(loss_value)
    if distributed.any_rank(bad):
        last = latest_checkpoint(run_dir)
        kept = f"the last checkpoint, {last.name}, is kept" if last is not None else "no checkpoint was written"
        raise InputError(
            f"training diverged at step {step}: the loss is {loss_value if bad else 'non-finite on another rank'} "
            f"({kept}); lower train.lr (e.g. --set train.lr=...) and train again"
        )


def guarded(train_function: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate ``train(config, scene, run_dir, ...)``: lock ``run_dir`` (rank 0) and catch stop signals for
    the duration of the call (see the module docstring)."""
    signature = inspect.signature(train_function)

    @functools.wraps(train_function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from . import backend, distributed
        from .runlock import RunLock

        run_dir = signature.bind(*args, **kwargs).arguments["run_dir"]
        lock = RunLock(run_dir)
        problem = None
        if backend.rank() == 0:
            try:
                lock.acquire()
            except InputError as exc:
                problem = exc
        if distributed.any_rank(problem is not None):  # every rank refuses together
            raise problem or InputError(f"{run_dir}: run directory is in use by another trainer")
        _received.clear()
        previous = _install()
        try:
            return train_function(*args, **kwargs)
        finally:
            _restore(previous)
            lock.release()

    return wrapper


__all__ = ["STOP_SIGNALS", "check_loss", "exit_status", "guarded", "signal_name", "stop_requested"]
