"""What keeps a training run safe from its surroundings: the run lock, stop signals, divergence.

:func:`guarded` wraps :func:`jneusample.training.trainer.train`: for the whole call rank 0 holds the run directory's lock
(:mod:`jneusample.platform.runlock`) and SIGINT, SIGTERM and SIGHUP only *ask* the loop to stop. The loop polls
:func:`stop_requested` once per step (next to its time limit), finishes the step, writes a checkpoint and
returns; the command then says how to resume and exits 128 + the signal number (130, 143, 129).

Jittor installs its own C-level SIGINT handler when it is imported (it prints "Caught SIGINT, quick exit" and
exits 1, losing every step since the last checkpoint), so our handlers must be installed after Jittor's
import, which :func:`guarded` does by construction (it runs inside ``train``). A second signal while the
step finishes quits at once.

A signal during start-up is not lost either: the training commands call :func:`catch_early` first thing, so
a signal that comes while Jittor starts, compiles or the scene loads is recorded, and the loop stops at its
first check (step 0, with a checkpoint). ``backend.py`` holds SIGINT back while Jittor is imported
(:func:`held_during_import`), then puts our SIGINT handler back over Jittor's.

Under the MPI relaunch (``launch.py``) the ranks get no signal from the user: the parent process the user
started receives it and writes its number into the file named by ``$JNEUSAMPLE_STOP_FILE``, which
:func:`stop_requested` reads at every step, so a stop asked during any rank's start-up waits there for it.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import math
import os
import signal
import sys
from typing import Any, Callable, Iterator

from .. import environment
from ..errors import InputError

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
STOP_FILE_ENV = environment.STOP_FILE
"""A file whose content, a signal number, asks every rank to stop as that signal would (written by the
relaunching parent, :mod:`jneusample.platform.launch`)."""

_received: list[int] = []
"""Signals received while training (in order); reset by every :func:`guarded` call."""
_owner_pid: list[int] = []
"""The process that installed the handlers. Processes forked from it (Jittor's compiler pool, data workers)
inherit the handlers but must keep the default behaviour: a pool terminates its workers with SIGTERM."""
_early_previous: dict[int, Any] = {}
"""The handlers :func:`catch_early` replaced (empty when it was not called): :func:`guarded` restores them."""


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
    if _reports_signals():
        print(f"\n{signal_name(signum)} received: stopping after the current step and writing a checkpoint "
              "(send it again to quit at once)", file=sys.stderr, flush=True)


def _reports_signals() -> bool:
    """Whether this process tells the user that a signal arrived: one line per job, from rank 0, and none from
    the ranks of the relaunch (its parent already said so; a signal reaching them comes from mpirun)."""
    # deferred: the CLI installs the guard before Jittor starts; backend would start it
    from .startup import launcher_rank

    return launcher_rank() == 0 and not environment.relaunched()


def received() -> list[int]:
    """The stop signals recorded so far (by :func:`catch_early` or :func:`guarded`'s handlers), in order."""
    return list(_received)


def mpirun_note(signum: int) -> str:
    """Words to add to "stopped by SIGTERM" in a job under the user's own ``mpirun``, which passes SIGINT, SIGTERM
    and SIGHUP on to every rank as SIGTERM (so the ranks cannot tell which one the user sent)."""
    # deferred: the CLI installs the guard before Jittor starts; backend would start it
    from .startup import launcher_world_size

    if signum != signal.SIGTERM or launcher_world_size() <= 1 or environment.relaunched() \
            or environment.stop_file():
        return ""
    return " (from mpirun, which sends SIGTERM to the ranks for SIGINT, SIGTERM and SIGHUP alike)"


def stopped_line(signum: int, step: int, checkpoint, resume_command: str) -> str:
    """What a command stopped by ``signum`` says on stderr: the signal, the step, its checkpoint and how to go on."""
    return (f"stopped by {signal_name(signum)}{mpirun_note(signum)} at step {step} (checkpoint {checkpoint}); "
            f"continue with: {resume_command}")


def file_signal() -> int:
    """The signal number written into ``$JNEUSAMPLE_STOP_FILE`` (0: no such file, or no stop asked)."""
    path = environment.stop_file()
    if not path:
        return 0
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except OSError:
        return 0
    return int(text) if text.isdigit() else 0


def catch_early() -> None:
    """Record stop signals from now on (the training commands' first line), so that one sent during start-up
    stops the run at its first step check instead of killing the process before a checkpoint exists."""
    if not _early_previous:
        _received.clear()
        _early_previous.update(_install())


def release_early() -> None:
    """Put back the handlers :func:`catch_early` replaced, if a command ends (an error, the relaunch) before
    :func:`guarded` did so (``cli.main`` calls it after every command)."""
    if _early_previous:
        _restore(dict(_early_previous))
        _early_previous.clear()


@contextlib.contextmanager
def held_during_import() -> Iterator[None]:
    """Hold SIGINT back while Jittor is imported when :func:`catch_early` is active, then put our handlers back
    over Jittor's C-level SIGINT handler and let a held SIGINT in (recorded, not lost). Only SIGINT: Jittor
    replaces no other stop signal's handler (SIGTERM and SIGHUP reach ours all along)."""
    if not _early_previous or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    _held_mask[:] = [blocked]
    try:
        yield
    finally:
        _held_mask.clear()
        _install()
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


_held_mask: list[Any] = []
"""The signal mask :func:`held_during_import` replaced, while it holds the stop signals (else empty)."""


def _defaults_in_forked_child() -> None:
    # Jittor's import forks its compiler pool while our handlers are installed (and the stop signals may be
    # held): a pool terminates its workers with SIGTERM at exit, and a worker that does not die of it hangs the
    # process for ever (seen under mpirun: a 2-rank train that never exited). So a forked child gets the default
    # SIGTERM/SIGHUP at once and ignores SIGINT (Ctrl-C reaches the whole process group: the trainer decides).
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is _handle:
            signal.signal(signum, signal.SIG_IGN if signum == signal.SIGINT else signal.SIG_DFL)
    if _held_mask:
        signal.pthread_sigmask(signal.SIG_SETMASK, _held_mask[0])
        _held_mask.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_defaults_in_forked_child)


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
    # deferred: the CLI installs the guard before Jittor starts; backend would start it
    from . import backend, distributed

    local = _received[0] if _received else file_signal()
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
    # deferred: the CLI installs the guard before Jittor starts; backend would start it
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
        # deferred: the CLI installs the guard before Jittor starts; backend would start it
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
        if _early_previous:  # catch_early ran: keep what it recorded, restore what was there before it
            previous = dict(_early_previous)
            _install()  # again: Jittor's import may have replaced the SIGINT handler
        else:
            _received.clear()
            previous = _install()
        try:
            return train_function(*args, **kwargs)
        finally:
            _restore(previous)
            _early_previous.clear()
            lock.release()

    return wrapper


__all__ = ["STOP_FILE_ENV", "STOP_SIGNALS", "catch_early", "check_loss", "exit_status", "file_signal", "guarded",
           "held_during_import", "mpirun_note", "received", "release_early", "signal_name", "stop_requested",
           "stopped_line"]
