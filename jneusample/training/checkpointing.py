"""A training run's state on disk: its files at the start, the checkpoints it writes, and the resume it starts from.

Checkpoints are collective under MPI (every rank sends its batcher state and parameter digest; rank 0 writes, with
:func:`~jneusample.platform.checkpoint.save_checkpoint`'s atomic rename), so a resume on the same number of ranks
continues bit for bit.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..data.batches import RayBatcher
from ..platform import backend, distributed
from ..platform.checkpoint import checkpoint_dir, load_checkpoint, load_model_state, model_state, save_checkpoint
from ..platform.runs import SceneInfo, truncate_metrics, write_config, write_scene_info
from .budget import TrainingClock
from .optim import load_optimizer_state, optimizer_state


@dataclass
class Start:
    """Where an invocation starts: step 0 of a new run, or a checkpoint's step."""

    step: int = 0
    seconds_before: float = 0.0
    """Training seconds of earlier invocations (a 'time' schedule continues from them)."""
    checkpoint: Path | None = None
    """The checkpoint resumed from (None: a new run)."""
    val_psnr: float | None = None
    """The validation PSNR that checkpoint recorded (None: none, or a new run)."""


def restore(model, optimizer, batcher: RayBatcher, seed: int, resume_from: Path | None,
            initial_model: dict[str, np.ndarray] | None, run_dir: Path) -> Start:
    """Load the checkpoint ``resume_from`` (model, optimizer, this rank's batcher stream) or, for a new run,
    ``initial_model``'s weights; then every rank takes rank 0's parameters (Jittor's own step-0 broadcast comes
    after the first gradients, which each rank would have computed on its own initialisation)."""
    start = Start()
    if resume_from is not None:
        state = load_checkpoint(resume_from)
        load_model_state(model, state["model"], resume_from)
        if "optimizer" in state:
            load_optimizer_state(optimizer, state["optimizer"])
        streams = state.get("sampler_per_rank", [])
        if backend.rank() < len(streams) and len(streams) == backend.world_size():
            batcher.load_state_dict(streams[backend.rank()])
        else:  # a different number of ranks: continue with fresh, distinct streams
            batcher.rng = np.random.Generator(np.random.PCG64([seed, backend.rank(), state["step"]]))
        start = Start(int(state["step"]), float(state.get("train_seconds", 0.0)), resume_from, state.get("val_psnr"))
    elif initial_model is not None:
        load_model_state(model, initial_model, run_dir)
    distributed.broadcast_parameters(model)
    distributed.note_initial_parameters(model)  # test hook ($JNEUSAMPLE_PARAM_DIGEST_DIR)
    return start


def write_run_files(run_dir: Path, config: Config, scene_info: SceneInfo | dict[str, Any] | None,
                    start_step: int) -> None:
    """Rank 0: the run directory, its config and scene info, the metrics log cut back to ``start_step``, and no
    temporaries of a checkpoint write cut short by a crash or a killed MPI job (never valid checkpoints)."""
    if backend.rank() != 0:
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in checkpoint_dir(run_dir).glob(".step_*.ckpt.*.tmp"):
        stale.unlink(missing_ok=True)
    write_config(run_dir, config)
    if scene_info is not None:
        write_scene_info(run_dir, scene_info)
    truncate_metrics(run_dir, start_step)


@dataclass
class Checkpointer:
    """Writes the run's checkpoints: model, optimizer, every rank's batcher stream and parameter digest, training
    seconds, and the validation PSNR of the step when one was measured."""

    run_dir: Path
    config: Config
    model: Any
    optimizer: Any
    batcher: RayBatcher
    clock: TrainingClock
    start: Start
    val_psnr_at: dict[int, float] = field(default_factory=dict)
    """Validation PSNR by step: the checkpoint of that step records it."""
    saved_step: int | None = None
    """The last step saved or resumed from (the same on every rank; paths are rank 0's)."""
    last: Path | None = None
    """Rank 0's last checkpoint path."""

    def __post_init__(self):
        if self.start.checkpoint is not None:
            self.saved_step, self.last = self.start.step, self.start.checkpoint

    def save(self, step: int) -> Path | None:
        """Checkpoint ``step`` (collective under MPI; rank 0 writes and gets the path, the others None)."""
        self.saved_step = step
        states, digests = gather_sampler_states(self.batcher, self.model)
        distributed.check_parameters_in_sync(self.model, digests)
        if backend.rank() != 0:
            return None
        self.last = save_checkpoint(self.run_dir, {
            "step": step, "config": self.config.to_dict(), "model": model_state(self.model),
            "optimizer": optimizer_state(self.optimizer), "sampler_per_rank": states,
            "world_size": backend.world_size(), "param_digest_per_rank": digests, "time": time.time(),
            "train_seconds": self.start.seconds_before + self.clock.seconds(),
            **({"val_psnr": self.val_psnr_at[step]} if step in self.val_psnr_at else {}),
        }, keep=self.config.train.keep_checkpoints)
        return self.last

    def save_starting_point(self, fine_tuning: bool) -> None:
        """Step 0 of a new fine-tuning run (extraction), for comparison and resume; nothing otherwise."""
        if fine_tuning:
            self.save(0)

    def final(self, step: int) -> None:
        """The end of an invocation: a checkpoint unless this step is already saved (decided alike on every
        rank, as :meth:`save` is collective). Every rank returns once the file is on disk: what follows in the
        same process (the demo's evaluation) reads it on every rank, and rank 0 alone writes it."""
        if step > self.start.step or self.saved_step is None:
            self.save(step)
        distributed.barrier()


def gather_sampler_states(batcher: RayBatcher, model=None) -> tuple[list[dict[str, Any]], list[str]]:
    """Every rank's batcher state (rank order), so that a resume on the same number of ranks is exact, and
    every rank's parameter digest (empty without ``model`` or outside MPI). One collective under MPI."""
    if not backend.in_mpi():
        return [batcher.state_dict()], []
    digest = distributed.parameter_digest(model) if model is not None else ""
    pairs = distributed.gather_objects((batcher.state_dict(), digest))
    return [state for state, _ in pairs], ([d for _, d in pairs] if model is not None else [])
