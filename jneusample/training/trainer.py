"""The training loop: orchestrates batcher → model → loss → optimizer, checkpoints, logs and validation."""
from __future__ import annotations

import copy
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..platform import backend, distributed, runguard
from ..samplers import collapse
from ..platform.backend import jt
from ..platform.checkpoint import checkpoint_dir, load_checkpoint, load_model_state, model_state, save_checkpoint
from ..config import Config
from ..data.batches import RayBatcher
from ..data.rays import scene_rays
from ..data.scene import Scene
from ..evaluation.metrics.psnr import psnr_from_mse
from ..models.neusample import build_model
from .optim import (load_optimizer_state, make_optimizer, optimizer_state, param_groups, schedule_progress,
    set_learning_rates)
from ..rendering import Rays, render_image, render_rays, render_settings
from ..platform.runs import append_metrics, prepare_run_dir, truncate_metrics, write_config, write_scene_info


def validation_views(count: int, available: int) -> list[int]:
    """``count`` view indices spread evenly over ``available`` views."""
    count = min(count, available)
    return sorted({int(round(i)) for i in np.linspace(0, available - 1, count)}) if count > 0 else []


def validation_pixels(height: int, width: int, max_rays: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows, cols) of at most ``max_rays`` pixels spread evenly over an image (a fixed lattice, the same at every
    validation), or None for every pixel (``max_rays`` 0, or an image that small)."""
    if max_rays <= 0 or height * width <= max_rays:
        return None
    flat = np.linspace(0, height * width - 1, max_rays).round().astype(np.int64)
    return flat // width, flat % width


def validate(model, scene: Scene, config: Config) -> dict[str, float]:
    """Mean PSNR over a few validation views (the val split, else test), on at most ``train.val_rays`` pixels
    of each (all of them when 0), so that validating a large image costs a bounded share of a time budget.

    Also ``val_samples_at_ends``: the share of the rendered samples that lie within 1e-3 of the ray's length of
    near or far (:func:`~jneusample.samplers.collapse.samples_at_ends`). A sample field whose sigmoid outputs saturated
    puts its samples there and no longer learns (docs/benchmarks.md, "Equal steps on all three scenes"); a healthy
    field keeps this near 0.

    Under MPI the views are shared out among the ranks and the PSNRs gathered (collective: every rank calls it).
    """
    split = "val" if "val" in scene.splits else "test"
    views = scene.split(split)
    settings = render_settings(scene, config, training=False)
    psnrs, at_ends = [], []
    height, width = views.images.shape[1:3]
    pixels = validation_pixels(height, width, config.train.val_rays)
    for index in distributed.shard(validation_views(config.train.val_views, len(views))):
        if pixels is None:
            out = render_image(model, scene, views.c2w[index], settings, config.render.chunk_points,
                               keep=("color", "z"))
            target = views.images[index]
        else:
            rows, cols = pixels
            rays = scene_rays(scene, views.c2w[index], cols, rows)
            out = render_rays(model, *rays, settings, config.render.chunk_points, keep=("color", "z"))
            target = views.images[index][rows, cols]
        psnrs.append(psnr_from_mse(float(np.mean((out["color"] - target) ** 2)), max_db=120.0))
        at_ends.append(collapse.samples_at_ends(out["z"], settings.near, settings.far))
    psnrs = sum(distributed.gather_objects(psnrs), [])
    at_ends = sum(distributed.gather_objects(at_ends), [])
    return {"val_psnr": float(np.mean(psnrs)), "val_views": len(psnrs), "val_split": split,
            "val_samples_at_ends": float(np.mean(at_ends))}


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
          max_minutes: float | None = None, progress: bool = True, scene_info: dict[str, Any] | None = None,
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
    is_root = backend.rank() == 0
    if max_minutes and config.train.schedule == "time":
        config = copy.deepcopy(config)  # the caller's config stays as given
        config.train.minutes = float(max_minutes)  # the time budget the schedule runs over
    config, resume_from = prepare_run_dir(run_dir, config, resume, stop_at=stop_at)
    if config.train.schedule == "time" and config.train.minutes > 0:
        max_minutes = config.train.minutes
    train_cfg = config.train

    # Initialisation, identical on every rank: Jittor would add rank·2591 to the seed under MPI.
    jt.set_global_seed(train_cfg.seed, different_seed_for_mpi=False)
    model = build_model(config.model)
    model.set_bf16_training(train_cfg.bf16_matmuls)
    groups = param_groups(model, config)
    optimizer = make_optimizer(groups)
    batcher = RayBatcher(scene, train_cfg.rays_per_step, train_cfg.precrop_fraction, train_cfg.precrop_steps,
                         seed=train_cfg.seed, stream=backend.rank(), across_views=train_cfg.batch_across_views)
    start_step = 0
    seconds_before = 0.0  # training seconds of earlier invocations (a 'time' schedule continues from them)
    if resume_from is not None:
        state = load_checkpoint(resume_from)
        load_model_state(model, state["model"], resume_from)
        if "optimizer" in state:
            load_optimizer_state(optimizer, state["optimizer"])
        samplers = state.get("sampler_per_rank", [])
        if backend.rank() < len(samplers) and len(samplers) == backend.world_size():
            batcher.load_state_dict(samplers[backend.rank()])
        else:  # a different number of ranks: continue with fresh, distinct streams
            batcher.rng = np.random.Generator(np.random.PCG64([train_cfg.seed, backend.rank(), state["step"]]))
        start_step = int(state["step"])
        seconds_before = float(state.get("train_seconds", 0.0))
    elif initial_model is not None:
        load_model_state(model, initial_model, run_dir)
    # Every rank starts from rank 0's parameters (Jittor's own step-0 broadcast comes after the first
    # gradients, which each rank would have computed on its own initialisation).
    distributed.broadcast_parameters(model)
    distributed.note_initial_parameters(model)  # test hook ($JNEUSAMPLE_PARAM_DIGEST_DIR)

    if is_root:
        run_dir.mkdir(parents=True, exist_ok=True)
        # Temporaries of a checkpoint write cut short by a crash or a killed MPI job (never valid checkpoints).
        for stale in checkpoint_dir(run_dir).glob(".step_*.ckpt.*.tmp"):
            stale.unlink(missing_ok=True)
        write_config(run_dir, config)
        if scene_info is not None:
            write_scene_info(run_dir, scene_info)
        truncate_metrics(run_dir, start_step)

    settings = render_settings(scene, config, training=True)
    effective_rays = distributed.effective_rays_per_step(train_cfg.rays_per_step)
    budget_seconds = max_minutes * 60.0 if max_minutes else None
    bar = None
    if progress and is_root:
        from ..platform.progress import TrainProgress

        # A time schedule counts minutes of its budget (its train.steps is only a cap), a step schedule steps.
        bar = TrainProgress(train_cfg.steps, budget_seconds if config.train.schedule == "time" else None)
    step = start_step
    last_checkpoint = resume_from
    last_val = None
    val_psnr_at: dict[int, float] = {}  # validation PSNR by step: the checkpoint of that step records it
    train_psnr = float("nan")
    clock = TrainingClock(leave_out_compiles=config.train.schedule == "time")
    timed_steps, timed_points = 0, 0  # points: N may change per step (quantile head)
    stopped_early = False
    stop_signal = 0
    saved_step = start_step if resume_from is not None else None  # same on every rank (paths are rank 0's)

    def checkpoint(step_now: int) -> Path | None:
        # Collective under MPI: every rank sends its batcher state and parameter digest; rank 0 writes.
        nonlocal saved_step
        saved_step = step_now
        states, digests = gather_sampler_states(batcher, model)
        distributed.check_parameters_in_sync(model, digests)
        if not is_root:
            return None
        return save_checkpoint(run_dir, {
            "step": step_now, "config": config.to_dict(), "model": model_state(model),
            "optimizer": optimizer_state(optimizer), "sampler_per_rank": states,
            "world_size": backend.world_size(), "param_digest_per_rank": digests, "time": time.time(),
            "train_seconds": seconds_before + clock.seconds(),
            **({"val_psnr": val_psnr_at[step_now]} if step_now in val_psnr_at else {}),
        }, keep=train_cfg.keep_checkpoints)

    if initial_model is not None and resume_from is None:
        last_checkpoint = checkpoint(0)  # the starting point of a fine-tuning run, for comparison and resume

    while step < train_cfg.steps:
        # Under MPI the ranks must agree on stopping, or one would wait for the others' gradients for ever.
        # One clock for all ranks (their mean), so that they agree on stopping and on the learning rate.
        train_seconds = seconds_before + distributed.mean_over_ranks(clock.seconds())
        if config.train.schedule == "time" and budget_seconds is not None and train_seconds >= budget_seconds:
            break  # a time schedule ends at its budget (resumes included): the run is complete, not stopped early
        out_of_time = budget_seconds is not None and train_seconds - seconds_before >= budget_seconds
        stop_signal = runguard.stop_requested()  # collective under MPI, like the clock above
        if out_of_time or stop_signal or (stop_at is not None and step >= stop_at):
            stopped_early = True
            break
        step_started = clock.now()
        rates = set_learning_rates(optimizer, groups, schedule_progress(config, step, train_seconds))
        batch = batcher.sample(step)
        # Density noise is seeded per (seed, rank, step) so that a resumed run draws what the uninterrupted
        # run would have drawn.
        jt.set_seed((train_cfg.seed * 1_000_003 + backend.rank() * 7_919 + step) % (2**31 - 1))
        model.begin_training_step(step, train_cfg.seed)  # e.g. the step's N (quantile head), alike on all ranks
        rays = Rays.from_numpy(batch.origins, batch.directions, batch.view_dirs)
        outputs = model(rays, settings)
        target = jt.array(batch.target)
        photometric = model.loss(outputs, target)
        loss = photometric if extra_loss is None else photometric + extra_loss(rays, outputs)
        optimizer.step(loss)
        distributed.sync_parameters(model)  # MPI: run this step's gradient all-reduces now, on every rank
        step += 1
        loss_value = float(loss.item())
        runguard.check_loss(loss_value, step, run_dir)  # diverged: stop before logging or checkpointing it
        color_mse = float(model.training_color_mse(outputs, target, photometric).item())
        train_psnr = psnr_from_mse(color_mse, max_db=120.0)
        clock.step_done(model.training_points_per_ray, step_started)
        timed_steps += 1
        timed_points += effective_rays * model.training_points_per_ray
        elapsed = clock.seconds()
        points_per_sec = timed_points / max(elapsed, 1e-9)
        if bar is not None:
            # A time schedule's clock leaves the compiling first step out: no rate until a second has passed.
            bar.update(step, seconds_before + elapsed, loss=f"{loss_value:.4f}", psnr=f"{train_psnr:.2f}",
                       rays_s=f"{effective_rays * timed_steps / elapsed:.0f}" if elapsed >= 1.0 else "?")
        if train_cfg.reset_collapsed_sample_field and step % train_cfg.log_every == 0:
            # collective: every rank checks at the same step
            share = collapse.reset_if_collapsed(model, optimizer, outputs["z"], settings.near, settings.far)
            if share is not None and is_root:
                append_metrics(run_dir, {"step": step, "sample_field_reset": share})
                print(f"note: step {step}: {share:.0%} of the rays had most of their samples at their ends (the "
                      "sample field had collapsed); its head is back at the uniform placement "
                      "(train.reset_collapsed_sample_field)",
                      file=sys.stderr, flush=True)
        if is_root and (step % train_cfg.log_every == 0 or step == train_cfg.steps):
            append_metrics(run_dir, {"step": step, "loss": loss_value, "psnr": train_psnr, "lr": rates[0],
                                     "points_per_sec": points_per_sec, "elapsed_s": clock.seconds(),
                                     "world_size": backend.world_size(), "effective_rays_per_step": effective_rays})
        if train_cfg.validate_every and step % train_cfg.validate_every == 0 and step < train_cfg.steps:
            last_val = val_psnr_at[step] = validation_record(model, scene, config, step, run_dir, is_root,
                                                             clock.seconds())
        if step % train_cfg.checkpoint_every == 0 and step < train_cfg.steps:
            last_checkpoint = checkpoint(step)
    if bar is not None:
        bar.close()
    if not stopped_early and train_cfg.validate_every:  # before the final checkpoint, which records it
        last_val = val_psnr_at[step] = validation_record(model, scene, config, step, run_dir, is_root,
                                                         clock.seconds())
    if step > start_step or saved_step is None:  # decided alike on every rank: checkpoint() is collective
        last_checkpoint = checkpoint(step) or last_checkpoint
    distributed.dump_parameter_digest(model, step)  # test hook ($JNEUSAMPLE_PARAM_DIGEST_DIR), every rank
    elapsed = clock.seconds()
    return TrainResult(run_dir=run_dir, step=step, last_checkpoint=last_checkpoint, stopped_early=stopped_early,
                       train_psnr=train_psnr, val_psnr=last_val,
                       points_per_sec=timed_points / max(elapsed, 1e-9),
                       world_size=backend.world_size(), effective_rays_per_step=effective_rays,
                       stop_signal=stop_signal)


def validation_record(model, scene, config, step, run_dir, is_root, elapsed: float) -> float:
    """Validate, log ``{"step", "val_psnr", ..., "elapsed_s"}`` (training seconds of this invocation)."""
    record = validate(model, scene, config)
    if is_root:
        append_metrics(run_dir, {"step": step, **record, "elapsed_s": elapsed})
        collapsed = record["val_samples_at_ends"] > collapse.SAMPLES_AT_ENDS_WARNING
        if collapsed and not config.train.reset_collapsed_sample_field:
            print(f"warning: step {step}: {record['val_samples_at_ends']:.0%} of the validation samples lie at the "
                  "ray's near or far end: the sample field has collapsed and will not recover; restart with "
                  "train.reset_collapsed_sample_field=true or a lower train.sample_field_lr_scale "
                  "(docs/benchmarks.md)", file=sys.stderr, flush=True)
    return record["val_psnr"]


def gather_sampler_states(batcher: RayBatcher, model=None) -> tuple[list[dict[str, Any]], list[str]]:
    """Every rank's batcher state (rank order), so that a resume on the same number of ranks is exact, and
    every rank's parameter digest (empty without ``model`` or outside MPI). One collective under MPI."""
    if not backend.in_mpi():
        return [batcher.state_dict()], []
    digest = distributed.parameter_digest(model) if model is not None else ""
    pairs = distributed.gather_objects((batcher.state_dict(), digest))
    return [state for state, _ in pairs], ([d for _, d in pairs] if model is not None else [])
