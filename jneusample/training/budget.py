"""When training stops: the step cap, a time budget, a stop signal, ``--stop-at``; and the clock it reads."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable

from ..config import Config
from ..platform import distributed, runguard


class TrainingClock:
    """Seconds of training in this process: the wall clock since it started, less, with ``leave_out_compiles``
    (a time schedule), the first step at each N.

    Jittor compiles a step's kernels the first time a process meets their shapes (minutes on a fresh machine):
    at the first step, and with the quantile head's ``model.samples_choices`` at the first step at each N. A time
    budget leaves those steps out, so that it buys training, not compilation, and models that train at one N and
    at several get the same budget."""

    def __init__(self, leave_out_compiles: bool, now: Callable[[], float] = time.time):
        self.leave_out_compiles, self.now = leave_out_compiles, now
        self.started = now()
        self.left_out: set[int] = set()
        """The N whose first step has been left out."""

    def seconds(self) -> float:
        return self.now() - self.started

    def step_done(self, points_per_ray: int, step_started: float) -> None:
        """A step at ``points_per_ray`` that began at ``step_started`` (``now()`` then) has ended."""
        if self.leave_out_compiles and points_per_ray not in self.left_out:
            self.left_out.add(points_per_ray)
            self.started += self.now() - step_started


@dataclass
class Stop:
    """Why a run stops before its next step."""

    early: bool
    """True: stopped before the run is complete (out of this invocation's minutes, a signal, ``--stop-at``);
    False: a time schedule reached its budget (the run is complete)."""
    signal: int = 0
    """The signal (SIGINT, SIGTERM, SIGHUP) that asked for the stop; 0 when none did."""


@dataclass
class TimeBudget:
    """The stopping rules of one invocation. A 'time' schedule runs until its ``train.minutes`` of training,
    resumes included; ``--max-minutes`` otherwise caps this invocation's training seconds. Under MPI the ranks
    decide on one clock (their mean) and one stop request, so that they stop at the same step."""

    seconds: float | None
    """The budget in seconds (None: no time limit)."""
    time_schedule: bool
    """Whether the learning-rate schedule runs over the budget (``train.schedule == 'time'``)."""
    seconds_before: float
    """Training seconds of earlier invocations of this run (a time schedule continues from them)."""
    stop_at: int | None = None
    """End this invocation at this step (``--stop-at``)."""

    @classmethod
    def of(cls, config: Config, max_minutes: float | None, seconds_before: float,
           stop_at: int | None) -> "TimeBudget":
        if config.train.schedule == "time" and config.train.minutes > 0:
            max_minutes = config.train.minutes
        return cls(max_minutes * 60.0 if max_minutes else None, config.train.schedule == "time", seconds_before,
                   stop_at)

    def training_seconds(self, clock: TrainingClock) -> float:
        """Seconds of training of the run so far, the same on every rank (collective under MPI)."""
        return self.seconds_before + distributed.mean_over_ranks(clock.seconds())

    def stop(self, step: int, training_seconds: float) -> Stop | None:
        """Whether to stop before ``step`` (collective under MPI: the stop request is agreed on)."""
        if self.time_schedule and self.seconds is not None and training_seconds >= self.seconds:
            return Stop(early=False)  # a time schedule ends at its budget: the run is complete
        out_of_time = self.seconds is not None and training_seconds - self.seconds_before >= self.seconds
        signal = runguard.stop_requested()
        if out_of_time or signal or (self.stop_at is not None and step >= self.stop_at):
            return Stop(early=True, signal=signal)
        return None


def with_time_budget(config: Config, max_minutes: float | None) -> Config:
    """A time schedule's budget from ``--max-minutes``: a copy of ``config`` with ``train.minutes`` set (the
    caller's config stays as given)."""
    if not (max_minutes and config.train.schedule == "time"):
        return config
    config = copy.deepcopy(config)
    config.train.minutes = float(max_minutes)
    return config
