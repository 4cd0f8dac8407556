"""One writer per run directory: an OS lock held for the whole life of a trainer.

``RUN/.lock`` is locked with ``fcntl.flock`` (exclusive, non-blocking). The lock belongs to the open file, so
the kernel releases it when the process ends in any way, ``kill -9`` included: there is never a stale lock to
clean up by hand. The file itself stays (it only records the PID of the last holder, for the error message);
deleting it on release would let a third process lock a new file while a second still waits on the old one.

Readers (``eval``, ``render``) take no lock: checkpoints and config files are replaced atomically, and readers
list only complete files (see :func:`jneusample.platform.checkpoint.list_checkpoints`).
"""
from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from ..errors import InputError
from .fileio import write_error

LOCK_NAME = ".lock"


def lock_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / LOCK_NAME


class RunLock:
    """An exclusive lock on a run directory (see the module docstring). Use as a context manager."""

    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)
        self.path = lock_path(self.run_dir)
        self._fd: int | None = None
        self._created_dir = False

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> "RunLock":
        """Take the lock, or raise a one-line InputError naming the PID that holds it."""
        if self._fd is not None:
            return self
        try:
            if not self.run_dir.exists():
                self.run_dir.mkdir(parents=True)
                self._created_dir = True
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileExistsError:  # made by a concurrent trainer between exists() and mkdir()
            return self.acquire()
        except OSError as exc:
            raise write_error(self.path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                who = f"process {holder}" if holder else "another process"
                raise InputError(
                    f"{self.run_dir}: run directory is in use by {who} (another trainer writes it); wait for it to "
                    "finish or choose another --out"
                ) from None
            raise InputError(f"{self.path}: cannot lock the run directory ({exc.strerror or exc})") from None
        try:  # record the holder for the message of the next one that tries
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the PID is only informative; a full disk must not stop a resume
        self._fd = fd
        return self

    def release(self) -> None:
        """Unlock; a run directory this lock created and nothing else filled is removed again."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if self._created_dir and {p.name for p in self.run_dir.iterdir()} == {LOCK_NAME}:
                # A trainer refused before writing anything (bad config, no checkpoint): leave no trace.
                self.path.unlink(missing_ok=True)
                self.run_dir.rmdir()
        except OSError:
            pass
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except (OSError, ValueError):
        return None


__all__ = ["LOCK_NAME", "RunLock", "lock_path"]
