"""One optimizer step: learning rates → the step's rays → the model's loss → Adam → (MPI) the all-reduce."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..config import Config
from ..data.batches import RayBatcher
from ..evaluation.metrics.psnr import psnr_from_mse
from ..losses import mse
from ..platform import backend, distributed, runguard
from ..platform.backend import jt
from ..rendering import Rays, RenderSettings
from .optim import ParamGroup, schedule_progress, set_learning_rates


@dataclass
class StepResult:
    """What one step reports."""

    loss: float
    """The training loss (photometric, the sampler's terms and any extra loss)."""
    psnr: float
    """PSNR of the step's rendered colours (dB, capped at 120)."""
    learning_rates: list[float]
    """Each optimizer group's rate in this step."""
    points_per_ray: int
    """Radiance-network queries per ray of this step (the quantile head may vary its N per step)."""
    z: jt.Var
    """(R, N) the step's sample distances (the collapse check reads them)."""


@dataclass
class TrainingStep:
    """Runs training step ``step`` (→ ``step + 1``): reproducibly, with the same arguments on every MPI rank."""

    model: object
    optimizer: object
    groups: list[ParamGroup]
    batcher: RayBatcher
    settings: RenderSettings
    config: Config
    run_dir: Path
    extra_loss: Callable[[Rays, dict[str, jt.Var]], jt.Var] | None = None
    """Added to the model's loss (distilled extraction); it must draw no random numbers (bit-exact resume)."""

    def __call__(self, step: int, training_seconds: float) -> StepResult:
        train = self.config.train
        rates = set_learning_rates(self.optimizer, self.groups,
                                   schedule_progress(self.config, step, training_seconds))
        batch = self.batcher.sample(step)
        # Density noise is seeded per (seed, rank, step) so that a resumed run draws what the uninterrupted
        # run would have drawn.
        jt.set_seed((train.seed * 1_000_003 + backend.rank() * 7_919 + step) % (2**31 - 1))
        self.model.sampler.begin_training_step(step, train.seed)  # e.g. the step's N, alike on all ranks
        rays = Rays.from_numpy(batch.origins, batch.directions, batch.view_dirs)
        outputs = self.model(rays, self.settings)
        target = jt.array(batch.target)
        loss = self.model.loss(outputs, target)
        if self.extra_loss is not None:
            loss = loss + self.extra_loss(rays, outputs)
        self.optimizer.step(loss)
        distributed.sync_parameters(self.model)  # MPI: run this step's gradient all-reduces now, on every rank
        loss_value = float(loss.item())
        runguard.check_loss(loss_value, step + 1, self.run_dir)  # diverged: stop before logging or saving it
        psnr = psnr_from_mse(float(mse(outputs["color"], target).item()), max_db=120.0)
        return StepResult(loss_value, psnr, rates, self.model.training_points_per_ray, outputs["z"])
