"""The one place that writes files: atomic writes, strict JSON, appends, writability probes, staged folders.

Every writer of the package goes through here so that three promises hold everywhere:

- **atomic**: a file is written to a temporary file in the same folder, flushed, fsynced and renamed over the
  final name (``os.replace``), so a crash or ``kill -9`` leaves the old file or the new one, never a torn one;
- **disk full is one line**: ENOSPC (and EDQUOT) becomes ``InputError("disk full: PATH")``, with the temporary
  file removed; other OS errors become ``InputError("PATH: cannot write (reason)")``;
- **strict JSON**: NaN and ±Infinity are written as ``null`` (:func:`json_safe`), never as the bare ``NaN`` /
  ``Infinity`` that other JSON readers reject.
"""
from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from ..errors import InputError

DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
"""Errors that mean "no space left" (a full disk, or a full quota)."""
TEMP_SUFFIX = ".tmp"
"""Suffix of the temporary files :func:`atomic_write_bytes` creates (``.NAME.<random>.tmp``)."""


def write_error(path: str | os.PathLike, exc: OSError) -> InputError:
    """The one-line error for a failed write of ``path``: ``disk full: PATH`` for ENOSPC/EDQUOT."""
    if exc.errno in DISK_FULL_ERRNOS:
        return InputError(f"disk full: {os.fspath(path)}")
    return InputError(f"{os.fspath(path)}: cannot write ({exc.strerror or exc})")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: some file systems refuse fsync on folders)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder + fsync + ``os.replace``.

    The parent folder is created when missing. On any failure the temporary file is removed and ``path`` is
    untouched; OS errors are raised as :class:`InputError` (see :func:`write_error`).
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs should be readable like any file
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _fsync_folder(path.parent)


def publish_temporary(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Move ``tmp``, a finished temporary file written by another program (ffmpeg), over ``path`` with the
    promises of :func:`atomic_write_bytes`: permissions of a plain ``open()``, fsync before the rename (where a
    full disk shows), then the rename. On failure ``tmp`` is removed, ``path`` is untouched, and the error is
    one line (``disk full: PATH``, see :func:`write_error`)."""
    tmp, path = Path(tmp), Path(path)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise write_error(path, exc) from None
    _fsync_folder(path.parent)


def temporary_file(path: str | os.PathLike, suffix: str = TEMP_SUFFIX) -> Path:
    """A new, empty temporary file beside ``path`` (``.NAME.<random><suffix>``) for another program to write
    (ffmpeg); :func:`publish_temporary` then moves it over ``path``. An OS error is one line (:func:`write_error`)."""
    path = Path(path)
    try:
        handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise write_error(path, exc) from None
    os.close(handle)
    return Path(tmp)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` encoded as UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±inf, also NumPy's) replaced by None, recursively.

    NumPy scalars and arrays become Python numbers and lists, tuples become lists: the result is plain JSON data.
    """
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key) if not isinstance(key, str) else key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return json_safe(value.tolist())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """Strict JSON text of ``value``: non-finite floats become ``null`` (``allow_nan=False`` afterwards)."""
    return json.dumps(json_safe(value), allow_nan=False, **kwargs)


def write_json(path: str | os.PathLike, value: Any, indent: int | None = 2) -> None:
    """Write ``value`` as strict JSON (see :func:`dumps`), atomically, with a final newline."""
    atomic_write_text(path, dumps(value, indent=indent) + "\n")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(text: str) -> Any:
    """Parse strict JSON: bare ``NaN`` / ``Infinity`` are refused (``ValueError``), as other readers would."""
    return json.loads(text, parse_constant=_refuse_constant)


def read_json(path: str | os.PathLike, missing: str = "file is missing") -> Any:
    """The JSON content of ``path``; one-line :class:`InputError` when it is missing or not (strict) JSON."""
    path = Path(path)
    try:
        return loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: {missing}") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a JSON file") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def append_line(path: str | os.PathLike, line: str) -> None:
    """Append ``line`` + newline to ``path`` (a log), all or nothing.

    A failed append (disk full) is cut back to the file's previous length, so the log never ends in a torn line.
    """
    path = Path(path)
    data = (line + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        size = os.fstat(fd).st_size
        try:
            written = os.write(fd, data)
            if written != len(data):  # a short write only happens when space runs out
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise write_error(path, exc) from None
    finally:
        os.close(fd)


def _scratch_file_error(folder: Path) -> str | None:
    """Why a scratch file cannot be created (and removed) in ``folder``, or None when it can."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return str(exc.strerror or exc)
    return None


def check_writable_dir(path: str | os.PathLike) -> None:
    """Fail early, with the path in the message, when results could not be written under ``path``.

    Creates (and removes) a scratch file in the nearest existing folder: ``os.access`` says yes to root even
    where writes fail (read-only mounts, /proc). Nothing is created when the check passes.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: output location is not writable (it exists and is not a folder)")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"{path}: output location is not writable ({probe} is not a folder)")
    problem = _scratch_file_error(probe)
    if problem:
        raise InputError(f"{path}: output location is not writable ({problem})")


def probe_writable(folder: str | os.PathLike, shown: str | os.PathLike) -> None:
    """Create ``folder`` and a scratch file in it, so that a bad output path fails before any work is done.

    ``shown`` is the path named in the error (the output the user asked for).
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{shown}: output location is not writable ({exc.strerror or exc})") from None
    problem = _scratch_file_error(folder)
    if problem:
        raise InputError(f"{shown}: output location is not writable ({problem})")


def check_writable_file(path: str | os.PathLike, what: str = "output") -> None:
    """Fail early when the file ``path`` could not be written (it is a folder, its folder is missing or
    read-only). ``what`` names the option in the message (e.g. ``--json output``)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: {what} is a directory, not a file")
    parent = path.parent
    if not parent.is_dir():
        raise InputError(f"{path}: cannot write {what}: folder {parent} does not exist")
    problem = _scratch_file_error(parent)
    if problem:
        raise InputError(f"{path}: cannot write {what}: {problem}")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{path}: cannot write {what}: permission denied")


def remove_temporaries(folder: str | os.PathLike, pattern: str = f".*{TEMP_SUFFIX}") -> int:
    """Delete the temporary files of writes cut short by a crash (``.NAME.<random>.tmp``) in ``folder``.

    Only call this while owning the folder (a run's lock), or a writer's file could vanish mid-write.
    Returns how many were removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    removed = 0
    for stale in folder.glob(pattern):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
            removed += 1
    return removed


@contextlib.contextmanager
def staged_folder(final: str | os.PathLike) -> Iterator[Path]:
    """Write the files of an output folder completely or not at all.

    Yields a fresh staging folder next to ``final`` (``.NAME.partial-<random>``). When the block ends normally
    its files are moved into ``final`` (created if needed; files of the same name are replaced one by one with
    ``os.replace``, other files already in ``final`` are left alone); otherwise the staging folder is deleted.
    A failure (disk full, Ctrl-C) therefore leaves ``final`` as it was, or absent, never half written.
    """
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    except OSError as exc:
        raise write_error(final, exc) from None
    try:
        yield staging
        created = not final.exists()
        try:
            if created:
                os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700
                os.replace(staging, final)  # the whole folder appears at once
            else:
                for entry in sorted(staging.iterdir()):
                    os.replace(entry, final / entry.name)
        except OSError as exc:
            raise write_error(final, exc) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


__all__ = ["append_line", "atomic_write_bytes", "atomic_write_text", "check_writable_dir", "check_writable_file",
           "dumps", "json_safe", "loads", "probe_writable", "publish_temporary", "read_json", "remove_temporaries",
           "staged_folder",
           "write_error", "write_json"]
