"""What a training run tells: the progress bar, the metrics log (metrics.jsonl) and the throughput."""
from __future__ import annotations

import sys
from pathlib import Path

from ..config import Config
from ..platform import backend
from ..platform.runs import append_metrics
from .budget import TrainingClock
from .step import StepResult


class TrainingLog:
    """Rank 0's progress bar and metrics log, and every rank's points-per-second meter (over the steps this
    invocation timed: a time schedule's clock leaves each N's compiling first step out)."""

    def __init__(self, run_dir: Path, config: Config, clock: TrainingClock, effective_rays: int,
                 seconds_before: float, budget_seconds: float | None, progress: bool):
        self.run_dir, self.config, self.clock = run_dir, config, clock
        self.effective_rays, self.seconds_before = effective_rays, seconds_before
        self.is_root = backend.rank() == 0
        self.timed_steps = self.timed_points = 0
        self.bar = None
        if progress and self.is_root:
            from ..platform.progress import TrainProgress  # tqdm: only with a bar

            # A time schedule counts minutes of its budget (its train.steps is only a cap), a step schedule steps.
            self.bar = TrainProgress(config.train.steps, budget_seconds if config.train.schedule == "time" else None)

    @property
    def points_per_sec(self) -> float:
        """Radiance-network queries per second, all ranks together, of the timed steps."""
        return self.timed_points / max(self.clock.seconds(), 1e-9)

    def step(self, step: int, result: StepResult) -> None:
        """Step ``step`` (1-based: the steps done) has ended with ``result``."""
        self.timed_steps += 1
        self.timed_points += self.effective_rays * result.points_per_ray
        elapsed = self.clock.seconds()
        if self.bar is not None:
            # A time schedule's clock leaves the compiling first step out: no rate until a second has passed.
            self.bar.update(step, self.seconds_before + elapsed, loss=f"{result.loss:.4f}", psnr=f"{result.psnr:.2f}",
                            rays_s=f"{self.effective_rays * self.timed_steps / elapsed:.0f}" if elapsed >= 1.0
                            else "?")
        train = self.config.train
        if self.is_root and (step % train.log_every == 0 or step == train.steps):
            append_metrics(self.run_dir, {"step": step, "loss": result.loss, "psnr": result.psnr,
                                          "lr": result.learning_rates[0], "points_per_sec": self.points_per_sec,
                                          "elapsed_s": elapsed, "world_size": backend.world_size(),
                                          "effective_rays_per_step": self.effective_rays})

    def sampler_reset(self, step: int, share: float | None) -> None:
        """The sampler's placement was reset at ``step`` (``share``: the collapsed rays; None: no reset)."""
        if share is None or not self.is_root:
            return
        append_metrics(self.run_dir, {"step": step, "sample_field_reset": share})
        print(f"note: step {step}: {share:.0%} of the rays had most of their samples at their ends (the sample "
              "field had collapsed); its head is back at the uniform placement "
              "(train.reset_collapsed_sample_field)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
