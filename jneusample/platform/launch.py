"""Run a training command as several MPI ranks on one CPU machine (``train.cpu_processes``).

One Jittor process keeps only ~1.3 of 2 cores busy: its oneDNN matmuls use every core, but its element-wise
kernels (bias, ReLU, encoding, compositing and their gradients) run on one thread. Two ranks with one thread
each keep both cores busy (docs/benchmarks.md, "Training throughput"). :func:`relaunch_under_mpi` runs
``mpirun -np K python -m jneusample <same arguments>`` as a child and waits for it; Jittor's optimizer then
averages the ranks' gradients. As under any ``mpirun``, ``train.rays_per_step`` is per rank: a step sees K times
as many rays (the ``cpu`` preset asks for 2 ranks of 512 rays: 1024 rays per step).

The process the user started stays the one that answers, so the job behaves like one process
(:class:`RankSupervisor`):

* **Signals.** ``mpirun`` turns SIGINT, SIGTERM and SIGHUP alike into SIGTERM for every rank and SIGKILLs them
  one second later (OpenMPI's ``odls_base_sigkill_timeout``), which loses a step that takes longer (the first,
  compiling one always does). So ``mpirun`` runs in its own session (the terminal's Ctrl-C and hang-up reach
  only this process), and a stop signal is passed on through a file (``$JNEUSAMPLE_STOP_FILE``, read by
  :func:`jneusample.platform.runguard.stop_requested` at every step). The ranks stop together, write one checkpoint and
  exit 128 + that signal, which ``mpirun`` and then this process return. A second signal quits at once.
* **Messages.** ``mpirun``'s multi-line banners (a rank exited non-zero, a rank was killed, MPI_ABORT) are
  dropped from its output: a bad input leaves the ranks' one ``error: ...`` line (rank 0's) and exit 2; a rank
  that died is named in one line (:func:`death_message`). Any other banner is passed on unchanged.
* **Orphans.** ``mpirun`` gets SIGTERM when this process dies (``PR_SET_PDEATHSIG``), even by ``kill -9``.

Nothing happens (the command goes on as one process) when it already runs under an MPI launcher, on a GPU,
when ``K <= 1``, with ``JNEUSAMPLE_NO_RELAUNCH=1``, or when ``mpirun`` is missing (a note says so).
"""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import environment
from . import fileio, runguard


RELAUNCHED_ENV = environment.RELAUNCHED
"""Set in the ranks started by :func:`relaunch_under_mpi` (their value: the number of ranks)."""
NO_RELAUNCH_ENV = environment.NO_RELAUNCH
"""``1``: never relaunch (run as one process whatever the config says)."""
LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "SLURM_STEP_NUM_TASKS")
"""Any of these: this process was started by a launcher, which decides how many processes run."""

command_line: list[str] | None = None
"""The arguments of the ``jneusample`` process when it was started from a shell (set by ``cli.main``); None
when a command runs inside another program (tests call ``cli.main([...])``), which is never relaunched."""


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def cpu_ranks(requested: int) -> int:
    """Ranks to run for ``train.cpu_processes = requested``: 0 means one per usable core; never more than the
    cores (oversubscribed ranks wait for each other at every gradient all-reduce)."""
    cores = usable_cores()
    return max(1, min(cores, requested if requested > 0 else cores))


def relaunch_under_mpi(requested: int, device: str, resume_command: str | None = None) -> int | None:
    """Run this command as ``mpirun -np K`` ranks when that is what the config asks for, and return the exit
    status the user should see; None when this process should go on by itself.

    ``resume_command``: what continues the run, named in the line that reports a rank that died.
    """
    ranks = cpu_ranks(requested)
    under_launcher = any(key in os.environ for key in LAUNCHER_VARIABLES)
    if (command_line is None or ranks <= 1 or device != "cpu" or under_launcher or environment.relaunched()
            or environment.no_relaunch()):
        return None
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        print(f"note: train.cpu_processes={requested} asks for {ranks} MPI ranks but mpirun is not installed; "
              "training as one process (apt-get install -y openmpi-bin libopenmpi-dev)", file=sys.stderr)
        return None
    env = dict(os.environ)
    env[RELAUNCHED_ENV] = str(ranks)
    env["OMP_NUM_THREADS"] = "1"  # one core per rank: two threads per rank would fight over the cores
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # OpenMPI refuses root unless told twice
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    argv = [mpirun, "-np", str(ranks), "--bind-to", "core", sys.executable, "-m", "jneusample", *command_line]
    sys.stdout.flush()
    sys.stderr.flush()
    return RankSupervisor(argv, env, resume_command).run()


# --------------------------------------------------------------------------------------------------------
# mpirun's banners
# --------------------------------------------------------------------------------------------------------

SEPARATOR = re.compile(rb"^-{20,}\s*$")
"""The line of dashes above and below each of OpenMPI's help messages."""
SEPARATOR_AFTER = re.compile(rb"^(.*?)(-{20,}\s*)$", re.S)
"""A separator glued to the end of a line that a rank left unfinished when it was stopped."""
SWALLOWED = (b"Primary job  terminated normally", b"mpirun detected that one or more processes exited",
             b"mpirun noticed that process rank", b"MPI_ABORT was invoked")
"""Banners that only restate how a rank ended: the supervisor says it in one line instead."""
AGGREGATE = re.compile(rb"^\[[^\]]*\] (\d+ more process(es)? ha(s|ve) sent help message|Set MCA parameter "
                       rb"\"orte_base_help_aggregate\")")
KILLED = re.compile(rb"mpirun noticed that process rank (\d+) with PID \d+ on node (\S+) exited on signal (\d+)")
FAILED = re.compile(rb"Process name:\s*\[\[\d+,\d+\],(\d+)\]\s*Exit code:\s*(\d+)")


@dataclass
class BannerFilter:
    """Pass ``mpirun``'s stderr on to ``write`` without the banners in :data:`SWALLOWED`, remembering what they
    said (:attr:`killed`: (rank, host, signal) of a rank ended by a signal; :attr:`failed`: (rank, status) of the
    first rank that exited non-zero).

    Output is passed on as it comes (a progress bar's ``\\r`` updates included); only a line that may be a
    banner's separator or a help-aggregation note is held until it is complete.
    """

    write: Callable[[bytes], Any]
    killed: tuple[int, str, int] | None = None
    failed: tuple[int, int] | None = None
    _pending: bytes = b""
    _block: list[bytes] | None = None
    _midline: bool = False
    _lines: list[bytes] = field(default_factory=list)

    def feed(self, data: bytes) -> None:
        self._pending += data
        while True:
            cut = min((i for i in (self._pending.find(b"\n"), self._pending.find(b"\r")) if i >= 0), default=-1)
            if cut < 0:
                break
            line, self._pending = self._pending[:cut + 1], self._pending[cut + 1:]
            self._line(line)
        if self._pending and self._block is None and (self._midline or not self._maybe_banner(self._pending)):
            self.write(self._pending)  # a partial line (a progress bar): now, not at its end
            self._pending, self._midline = b"", True

    def close(self) -> None:
        """Pass on whatever is held (an unfinished banner is not one of ours to drop)."""
        rest = b"".join(self._block or []) + self._pending
        if rest:
            self.write(rest)
        self._block, self._pending = None, b""

    @staticmethod
    def _maybe_banner(partial: bytes) -> bool:
        return partial.startswith(b"[") or not partial.strip(b"-\r\n")

    def _line(self, line: bytes) -> None:
        glued = SEPARATOR_AFTER.match(line) if self._block is None else None
        if glued and glued.group(1) and not glued.group(1).endswith(b"-"):
            self.write(glued.group(1) + b"\n")  # the unfinished line, then the banner on its own
            self._midline, self._block = False, [glued.group(2)]
        elif self._midline:
            self.write(line)
            self._midline = False
        elif self._block is not None:
            self._block.append(line)
            if SEPARATOR.match(line):
                self._end_block(b"".join(self._block))
        elif SEPARATOR.match(line):
            self._block = [line]
        elif not AGGREGATE.match(line):
            self.write(line)

    def _end_block(self, text: bytes) -> None:
        self._block = None
        if not any(marker in text for marker in SWALLOWED):
            self.write(text)
            return
        killed, failed = KILLED.search(text), FAILED.search(text)
        if killed and self.killed is None:
            self.killed = (int(killed.group(1)), killed.group(2).decode(errors="replace"), int(killed.group(3)))
        if failed and self.failed is None:
            self.failed = (int(failed.group(1)), int(failed.group(2)))


def death_message(killed: tuple[int, str, int] | None, failed: tuple[int, int] | None,
                  resume_command: str | None) -> str | None:
    """The one line that reports a rank that died (None when no rank did, or it said why itself: exit 2 is a
    bad input, whose ``error: ...`` line rank 0 printed; 128 + n a stop by a signal, which rank 0 reported)."""
    if failed is not None and (failed[1] == 2 or failed[1] >= 128):
        return None  # the ranks mpirun ended after that are no news
    if killed is not None:
        rank, host, signum = killed
        name = _signal_name(signum)
        cause = " (kill -9, or the kernel's out-of-memory killer)" if signum == signal.SIGKILL else ""
        what = f"MPI rank {rank} on {host} was ended by {name}{cause}"
    elif failed is not None:
        what = f"MPI rank {failed[0]} exited with status {failed[1]}"
    else:
        return None
    after = f"; continue with: {resume_command}" if resume_command else ""
    return f"error: {what}; the other ranks were stopped, the checkpoints written so far are kept{after}"


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


# --------------------------------------------------------------------------------------------------------
# The supervising parent
# --------------------------------------------------------------------------------------------------------

def _die_with_parent() -> None:
    """In the child before exec: receive SIGTERM when the parent dies (Linux), so mpirun never outlives it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class RankSupervisor:
    """Run ``argv`` (an ``mpirun`` command line) and stand in for it towards the user: see the module docstring."""

    def __init__(self, argv: list[str], env: dict[str, str], resume_command: str | None = None):
        self.argv, self.env, self.resume_command = argv, env, resume_command
        self.received: list[int] = []
        self.process: subprocess.Popen | None = None
        self.stop_file = ""

    def run(self) -> int:
        with tempfile.TemporaryDirectory(prefix="jneusample-ranks-") as folder:
            self.stop_file = os.path.join(folder, "stop")
            self.env[runguard.STOP_FILE_ENV] = self.stop_file
            previous = {signum: signal.signal(signum, self._handle) for signum in runguard.STOP_SIGNALS}
            try:
                for signum in runguard.received():  # arrived before this process knew it would relaunch
                    self._ask_to_stop(signum)
                self.process = subprocess.Popen(self.argv, env=self.env, stderr=subprocess.PIPE,
                                                start_new_session=True, preexec_fn=_die_with_parent)
                banners = BannerFilter(lambda data: os.write(sys.stderr.fileno(), data))
                while chunk := os.read(self.process.stderr.fileno(), 1 << 16):
                    banners.feed(chunk)
                banners.close()
                code = self.process.wait()
            finally:
                for signum, handler in previous.items():
                    signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        return self.exit_status(code, banners)

    def exit_status(self, code: int, banners: BannerFilter) -> int:
        """What the user sees: the ranks' status (128 + the stop signal after a clean stop, 2 after a bad
        input), after one line naming a rank that died."""
        if len(self.received) > 1:
            return 128 + self.received[0]  # quit at once: mpirun was told to end the ranks
        message = death_message(banners.killed, banners.failed, self.resume_command)
        if message and not (self.received and code == 128 + self.received[0]):
            print(message, file=sys.stderr, flush=True)
        return code if code >= 0 else 128 - code

    def _handle(self, signum: int, frame) -> None:
        if self.received:  # the second signal: the user does not want to wait for the checkpoint
            self.received.append(signum)
            print(f"\n{_signal_name(signum)} received again: stopping the ranks now", file=sys.stderr, flush=True)
            if self.process is not None and self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)  # mpirun ends every rank (SIGTERM, then SIGKILL)
            return
        print(f"\n{_signal_name(signum)} received: stopping after the current step and writing a checkpoint "
              "(send it again to quit at once)", file=sys.stderr, flush=True)
        self._ask_to_stop(signum)

    def _ask_to_stop(self, signum: int) -> None:
        """Tell every rank (now or, for one still starting, at its first step) to stop as ``signum`` would."""
        if not self.received:
            self.received.append(signum)
        fileio.atomic_write_text(self.stop_file, f"{signum}\n")  # a rank reads the whole number or no file


__all__ = ["BannerFilter", "LAUNCHER_VARIABLES", "NO_RELAUNCH_ENV", "RELAUNCHED_ENV", "RankSupervisor",
           "command_line", "cpu_ranks", "death_message", "relaunch_under_mpi", "usable_cores"]
