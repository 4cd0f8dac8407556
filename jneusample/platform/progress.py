"""The training progress line: minutes of a time budget, or steps of a step schedule.

A ``time`` schedule (the ``cpu`` and ``quick`` presets) ends when its budget of training minutes is spent; its
``train.steps`` is only a cap (1,000,000), so a step counter would show ``1/1000000`` and an ETA of years. This
line counts what ends the run instead::

    train  50% |##########..........| 1.8/3.5 min [ETA 1:45] step 2011 loss 0.0123 psnr 24.10
    train  40% |########............| 2011/5000 steps [ETA 1:48] loss 0.0123 psnr 24.10

The caller passes the training seconds (the same clock the schedule reads), so compile time that a time budget
leaves out is left out of the line too. No Jittor import: the tests drive it with a fake clock.
"""
from __future__ import annotations

import shutil
import sys
import time
from typing import Callable, TextIO

BAR_WIDTH = 20
"""Characters of the text bar."""
TTY_INTERVAL = 0.5
"""Seconds between redraws on a terminal (the line is rewritten in place)."""
PIPE_INTERVAL = 30.0
"""Seconds between lines when stderr is a file or a pipe (logs, mpirun), so that a log does not fill up."""


def clock_text(seconds: float) -> str:
    """``M:SS`` (or ``H:MM:SS`` from one hour on) of a non-negative duration in seconds, rounded to the second."""
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def bar_text(fraction: float, width: int = BAR_WIDTH) -> str:
    """``|####......|``: ``fraction`` ∈ [0, 1] (clipped) of ``width`` characters filled."""
    filled = int(round(min(max(fraction, 0.0), 1.0) * width))
    return "|" + "#" * filled + "." * (width - filled) + "|"


def field_name(key: str) -> str:
    """How a keyword of :meth:`TrainProgress.update` is shown: ``rays_s`` → ``rays/s`` (a rate), others as given."""
    return key[:-2] + "/s" if key.endswith("_s") else key


class TrainProgress:
    """The progress line of one training invocation (rank 0 only).

    Args:
        total_steps: ``train.steps`` (the end of a step schedule; only a cap for a time schedule).
        budget_seconds: the time schedule's budget (``train.minutes`` · 60), or None for a step schedule.
        stream: where the line goes (stderr).
        now: wall clock in seconds, used only to space redraws (tests pass a fake one).
        interval: seconds between redraws; default 0.5 on a terminal, 30 otherwise.
    """

    def __init__(self, total_steps: int, budget_seconds: float | None,
                 stream: TextIO | None = None, now: Callable[[], float] = time.monotonic,
                 interval: float | None = None):
        self.total_steps, self.budget_seconds = int(total_steps), budget_seconds
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.now = now
        self.interval = interval if interval is not None else (TTY_INTERVAL if self.tty else PIPE_INTERVAL)
        self.last_drawn: float | None = None
        self.drawn_width = 0
        self.text = ""
        self.shown = ""
        """The text last written."""
        # The step rate is measured from the first update on: the first step of a process compiles Jittor's
        # kernels (seconds to minutes) and would make an early ETA far too long.
        self.origin: tuple[int, float] | None = None

    def line(self, step: int, train_seconds: float, fields: dict[str, str]) -> str:
        """The text for ``step`` after ``train_seconds`` of training (all invocations of the run)."""
        if self.budget_seconds is not None:  # a time schedule: minutes of the budget, not steps of the cap
            budget = max(self.budget_seconds, 1e-9)
            done = min(max(train_seconds, 0.0), budget)
            fraction = done / budget
            counter = f"{done / 60:.1f}/{budget / 60:.1f} min [ETA {clock_text(budget - done)}] step {step}"
        else:
            fraction = step / max(self.total_steps, 1)
            counter = f"{step}/{self.total_steps} steps [ETA {self.eta(step, train_seconds)}]"
        extras = "".join(f" {field_name(key)} {value}" for key, value in fields.items())
        return f"train {fraction:4.0%} {bar_text(fraction)} {counter}{extras}"

    def eta(self, step: int, train_seconds: float) -> str:
        """Time left of a step schedule at the mean step time since the first update ('?' before two updates)."""
        if self.origin is None or step <= self.origin[0]:
            return "?"
        seconds_per_step = (train_seconds - self.origin[1]) / (step - self.origin[0])
        return clock_text(max(self.total_steps - step, 0) * seconds_per_step)

    def update(self, step: int, train_seconds: float, **fields: str) -> None:
        """Record ``step`` done at ``train_seconds``; redraw when ``interval`` has passed (and at the first call).

        ``fields`` (already formatted) are shown after the counters as ``key value`` (see :func:`field_name`).
        """
        self.text = self.line(step, train_seconds, fields)
        if self.origin is None:
            self.origin = (int(step), float(train_seconds))
        now = self.now()
        if self.last_drawn is None or now - self.last_drawn >= self.interval:
            self.draw()
            self.last_drawn = now

    def draw(self) -> None:
        """Write the current line: in place on a terminal (cut to its width), as a new line otherwise."""
        if not self.text:
            return
        if self.tty:
            text = self.text[: max(20, shutil.get_terminal_size().columns - 1)]
            self.stream.write("\r" + text.ljust(self.drawn_width))
            self.drawn_width = len(text)
        else:
            self.stream.write(self.text + "\n")
        self.stream.flush()
        self.shown = self.text

    def close(self) -> None:
        """Draw the last state (unless it is already shown) and, on a terminal, end the line."""
        if self.text and self.text != self.shown:
            self.draw()
        if self.tty and self.shown:
            self.stream.write("\n")
            self.stream.flush()
