"""The training loop: it only orchestrates its named parts, in the order of one run.

model and optimizer (:mod:`jneusample.models.registry`, :mod:`.optim`) → where it starts (:mod:`.checkpointing`)
→ steps (:mod:`.step`) until the budget says stop (:mod:`.budget`) → log (:mod:`.log`), the collapse check
(:mod:`.sampler_reset`), validation (:mod:`.validation`) and checkpoints (:mod:`.checkpointing`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..config import Config
from ..data.batches import RayBatcher
from ..data.scene import Scene
from ..models.registry import build_model
from ..platform import backend, distributed, runguard
from ..platform.backend import jt
from ..platform.runs import SceneInfo, prepare_run_dir
from ..rendering import Rays, render_settings
from .budget import TimeBudget, TrainingClock, with_time_budget
from .checkpointing import Checkpointer, restore, write_run_files
from .log import TrainingLog
from .optim import make_optimizer, param_groups
from .sampler_reset import reset_if_collapsed
from .step import TrainingStep
from .validation import Validator


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    last_checkpoint: Path
    stopped_early: bool
    train_psnr: float
    val_psnr: float | None
    points_per_sec: float
    world_size: int = 1
    """MPI ranks that trained (1 without mpirun)."""
    effective_rays_per_step: int = 0
    """Rays per optimizer step over all ranks: rays_per_step × world_size."""
    stop_signal: int = 0
    """The signal (SIGINT, SIGTERM, SIGHUP) that stopped training after a checkpoint; 0 when none did."""


@runguard.guarded  # rank 0 holds the run directory's lock; SIGINT/SIGTERM/SIGHUP stop after a step
def train(config: Config, scene: Scene, run_dir: str | Path, resume: bool = False,
          max_minutes: float | None = None, progress: bool = True, scene_info: SceneInfo | dict[str, Any] | None = None,
          initial_model: dict[str, np.ndarray] | None = None, stop_at: int | None = None,
          extra_loss: Callable[[Rays, dict[str, jt.Var]], jt.Var] | None = None) -> TrainResult:
    """Train (or resume) a run in ``run_dir`` until ``config.train.steps`` or ``max_minutes``.

    ``initial_model`` (parameter arrays) starts a new run from given weights (sample field extraction).
    ``stop_at`` ends this invocation (with a checkpoint) at that step, leaving the schedule untouched.
    ``extra_loss(rays, outputs)`` (a scalar) is added to the model's loss at every step (distilled extraction);
    it must draw no random numbers, so that a resumed run stays bit-exact.
    Only rank 0 of an MPI job writes files; every rank draws its own rays (batcher stream = rank).
    """
    run_dir = Path(run_dir)
    config, resume_from = prepare_run_dir(run_dir, with_time_budget(config, max_minutes), resume, stop_at=stop_at)
    train_cfg = config.train
    jt.set_global_seed(train_cfg.seed, different_seed_for_mpi=False)  # Jittor would add rank·2591 under MPI
    model = build_model(config.model)
    model.set_bf16_training(train_cfg.bf16_matmuls)
    groups = param_groups(model, config)
    optimizer = make_optimizer(groups)
    batcher = RayBatcher(scene, train_cfg.rays_per_step, train_cfg.precrop_fraction, train_cfg.precrop_steps,
                         seed=train_cfg.seed, stream=backend.rank(), across_views=train_cfg.batch_across_views)
    start = restore(model, optimizer, batcher, train_cfg.seed, resume_from, initial_model, run_dir)
    write_run_files(run_dir, config, scene_info, start.step)
    budget = TimeBudget.of(config, max_minutes, start.seconds_before, stop_at)
    clock = TrainingClock(leave_out_compiles=train_cfg.schedule == "time")
    settings = render_settings(scene, config, training=True)
    log = TrainingLog(run_dir, config, clock, distributed.effective_rays_per_step(train_cfg.rays_per_step),
                      start.seconds_before, budget.seconds, progress)
    checkpoints = Checkpointer(run_dir, config, model, optimizer, batcher, clock, start)
    run_step = TrainingStep(model, optimizer, groups, batcher, settings, config, run_dir, extra_loss)
    validate = Validator(model, scene, config, run_dir, clock, checkpoints.val_psnr_at)
    checkpoints.save_starting_point(fine_tuning=initial_model is not None and resume_from is None)
    step, stop, result, last_val = start.step, None, None, None
    while step < train_cfg.steps:
        training_seconds = budget.training_seconds(clock)  # collective under MPI, like the stop request
        stop = budget.stop(step, training_seconds)
        if stop is not None:
            break
        step_started = clock.now()
        result = run_step(step, training_seconds)
        step += 1
        clock.step_done(result.points_per_ray, step_started)
        log.step(step, result)
        if train_cfg.reset_collapsed_sample_field and step % train_cfg.log_every == 0:  # collective
            log.sampler_reset(step, reset_if_collapsed(model, optimizer, result.z, settings.near, settings.far))
        if validate.due(step):
            last_val = validate(step)
        if step % train_cfg.checkpoint_every == 0 and step < train_cfg.steps:
            checkpoints.save(step)
    log.close()
    stopped_early = stop is not None and stop.early
    if not stopped_early:  # before the final checkpoint, which records it
        last_val = validate.at_end(step, start.step, start.val_psnr)
    checkpoints.final(step)
    distributed.dump_parameter_digest(model, step)  # test hook ($JNEUSAMPLE_PARAM_DIGEST_DIR), every rank
    return TrainResult(run_dir=run_dir, step=step, last_checkpoint=checkpoints.last, stopped_early=stopped_early,
                       train_psnr=result.psnr if result else float("nan"), val_psnr=last_val,
                       points_per_sec=log.points_per_sec, world_size=backend.world_size(),
                       effective_rays_per_step=log.effective_rays, stop_signal=stop.signal if stop else 0)
