"""Optimizer set-up, learning-rate schedules, and optimizer state as plain arrays (for checkpoints)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .backend import jt
from .config import Config


@dataclass
class ParamGroup:
    name: str
    """Label of the group (for logs)."""
    params: list
    """Jittor parameters, each in exactly one group."""
    lr: Callable[[float], float]
    """Learning rate as a function of the schedule's progress in [0, 1] (see :func:`schedule_progress`)."""


def warmup_linear_decay(lr: float, lr_final: float, warmup_fraction: float = 0.0) -> Callable[[float], float]:
    """lr(p) for progress p ∈ [0, 1]: a linear ramp from lr/10 to lr over the first ``warmup_fraction`` of the
    schedule, then the paper's linear ('Poly', power 1) decay from lr to ``lr_final`` over the rest.

    Without warm-up this is lr(p) = (lr − lr_final)·(1 − p) + lr_final, the official per-step decay.
    """
    def schedule(progress: float) -> float:
        progress = min(max(progress, 0.0), 1.0)
        if warmup_fraction > 0 and progress < warmup_fraction:
            return lr * (0.1 + 0.9 * progress / warmup_fraction)
        rest = (progress - warmup_fraction) / max(1e-12, 1.0 - warmup_fraction)
        return (lr - lr_final) * max(0.0, 1.0 - rest) + lr_final
    return schedule


def constant(lr: float) -> Callable[[float], float]:
    return lambda progress: lr


def schedule_progress(config: Config, step: int, train_seconds: float) -> float:
    """How far the learning-rate schedule has run, in [0, 1].

    'steps' schedule: step / train.steps (a pure function of the step, so runs are reproducible). 'time'
    schedule: training seconds / (60·train.minutes), or the step fraction if that is further along (the run
    also ends at train.steps).
    """
    by_steps = step / max(1, config.train.steps)
    if config.train.schedule == "time" and config.train.minutes > 0:
        return min(1.0, max(by_steps, train_seconds / (60.0 * config.train.minutes)))
    return min(1.0, by_steps)


def param_groups(model, config: Config) -> list[ParamGroup]:
    """The optimizer groups of ``model`` (a :class:`~jneusample.model_base.Model`) for this run: training or
    extraction (see :meth:`~jneusample.model_base.Model.param_groups`)."""
    return model.param_groups(config)


def make_optimizer(groups: list[ParamGroup]) -> jt.optim.Adam:
    """Adam (β 0.9/0.999, ε 1e-8, no weight decay) over the groups."""
    return jt.optim.Adam([{"params": g.params, "lr": g.lr(0)} for g in groups], lr=groups[0].lr(0),
                         eps=1e-8, betas=(0.9, 0.999))


def set_learning_rates(optimizer, groups: list[ParamGroup], progress: float) -> list[float]:
    """Set every group's rate for schedule progress ``progress`` ∈ [0, 1]; returns the rates."""
    rates = [g.lr(progress) for g in groups]
    for pg, lr in zip(optimizer.param_groups, rates):
        pg["lr"] = lr
    return rates


def clear_moments(optimizer, params: list) -> int:
    """Zero Adam's moment buffers of ``params`` (after their values were reset); returns how many were found."""
    wanted = {id(p) for p in params}
    found = 0
    for pg in optimizer.param_groups:
        for param, m, v in zip(pg["params"], pg["m"], pg["values"]):
            if id(param) in wanted:
                m.assign(jt.zeros_like(m))
                v.assign(jt.zeros_like(v))
                found += 1
    return found


def optimizer_state(optimizer) -> dict[str, Any]:
    """Adam's step count and moment buffers as NumPy arrays."""
    return {
        "n_step": int(optimizer.n_step),
        "groups": [{"m": [m.numpy().copy() for m in pg["m"]], "v": [v.numpy().copy() for v in pg["values"]]}
                   for pg in optimizer.param_groups],
    }


def load_optimizer_state(optimizer, state: dict[str, Any]) -> None:
    optimizer.n_step = int(state["n_step"])
    for pg, saved in zip(optimizer.param_groups, state["groups"]):
        for buffer, array in zip(pg["m"], saved["m"]):
            buffer.assign(jt.array(np.asarray(array)))
        for buffer, array in zip(pg["values"], saved["v"]):
            buffer.assign(jt.array(np.asarray(array)))
