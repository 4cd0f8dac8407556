"""Where and how a measurement was made: date, command, machine, load average (no Jittor import).

Every number the README or docs quote comes from a JSON file under ``benchmarks/results/`` that carries
:func:`run_record`'s fields, so a reader can see when, how and on what it was measured (the benchmark scripts
through ``benchmarks/harness.py``, ``jneusample bench --json`` directly).
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import sys
import threading
from pathlib import Path
from typing import Any
from importlib.metadata import version
import subprocess


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """CPU model, usable cores, memory, OS, Python, Jittor version (without importing Jittor)."""
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gib = float("nan")
    try:
        jittor = version("jittor")
    except Exception:  # noqa: BLE001 (a report field, never fatal)
        jittor = "not installed"
    flags = ""
    try:
        flags = next(l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags"))
    except (OSError, StopIteration):
        pass
    return {"cpu_model": cpu_model(), "cores": len(os.sched_getaffinity(0)), "memory_gib": round(mem_gib, 1),
            "avx512_bf16": "avx512_bf16" in flags, "platform": platform.platform(),
            "python": platform.python_version(), "jittor": jittor}


class LoadMonitor:
    """Samples the 1-minute load average every ``interval`` seconds in a background thread (min/mean/max)."""

    def __init__(self, interval: float = 10.0):
        self.interval, self.samples = interval, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(self.interval)

    def __enter__(self) -> "LoadMonitor":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])

    def summary(self) -> dict[str, float]:
        s = self.samples or [os.getloadavg()[0]]
        return {"min": round(min(s), 2), "mean": round(sum(s) / len(s), 2), "max": round(max(s), 2)}


MEASURED_OUTPUTS = ("benchmarks/results", "docs/images")
"""What benchmarks write into the checkout (results files, figures): a change there is not a change of the code
measured, so it does not make :func:`git_commit` dirty (a script's second row would otherwise be stamped dirty by
its first)."""


def git_commit(repo: Path | None = None) -> str:
    """The checkout's commit (40 hex digits), with ``-dirty`` when tracked files other than
    :data:`MEASURED_OUTPUTS` differ from it; 'unknown' outside a git checkout (an installed package)."""
    repo = repo or Path(__file__).resolve().parents[2]
    excluded = [f":(exclude){path}" for path in MEASURED_OUTPUTS]
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no", "--", ".",
                                *excluded], capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def run_record() -> dict[str, Any]:
    """``{"date", "command", "machine", "git_commit", "load_average"}``: now (UTC, ISO 8601), this process's
    command line, :func:`machine_info`, the code measured (:func:`git_commit`) and the 1/5/15-minute load."""
    return {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name] + sys.argv),
            "machine": machine_info(), "git_commit": git_commit(),
            "load_average_at_write": [round(x, 2) for x in os.getloadavg()]}
