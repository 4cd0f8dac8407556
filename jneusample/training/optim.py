"""Optimizer set-up, learning-rate schedules, and optimizer state as plain arrays (for checkpoints)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..platform.backend import jt
from ..config import Config


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
    """The optimizer groups of ``model`` (a :class:`~jneusample.models.model.Model`) for this run: an
    extraction's constant rates (:attr:`~jneusample.config.ExtractConfig.is_extraction`), else training's
    schedules (:meth:`~jneusample.models.model.Model.param_groups`)."""
    if config.extract.is_extraction:
        return model.extraction_param_groups(config.extract.sample_field_lr, config.extract.radiance_lr)
    train = config.train
    return model.param_groups(train.lr, train.lr_final, train.warmup_fraction, train.sample_field_lr_scale)


class Adam(jt.optim.Adam):
    """Jittor's Adam with a step count per parameter, so that moments cleared mid-run start afresh.

    ``jt.optim.Adam`` corrects the bias of every moment with the optimizer's one step count n (update =
    lr·√(1 − β₂ⁿ)/(1 − β₁ⁿ)·m/(√v + ε)). Moments zeroed mid-run (:func:`clear_moments`) are then corrected as
    if they were n steps old: one step after the clearing, m = 0.1·g and v = 0.001·g² give an update of
    ≈ 3.16·lr instead of a fresh Adam's lr. Here a parameter's n counts the steps since its moments were last
    cleared (``param_group["moments_cleared_at"]``: the optimizer's step count then; 0: never), so its next
    update is a fresh Adam's. Parameters never cleared step exactly (bit for bit) as with ``jt.optim.Adam``.
    """

    def __init__(self, params, lr: float, eps: float = 1e-8, betas: tuple[float, float] = (0.9, 0.999),
                 weight_decay: float = 0.0):
        super().__init__(params, lr, eps=eps, betas=betas, weight_decay=weight_decay)
        for pg in self.param_groups:
            pg["moments_cleared_at"] = [0] * len(pg["params"])

    def add_param_group(self, group) -> None:
        super().add_param_group(group)
        group["moments_cleared_at"] = [0] * len(group["params"])

    def step(self, loss=None, retain_graph: bool = False) -> None:
        """``jt.optim.Adam.step`` with n = the steps since the parameter's moments were last cleared."""
        self.pre_step(loss, retain_graph)  # gradients (MPI mean), and n_step counts this step
        jt.flags.node_order = 1
        for pg in self.param_groups:
            lr = pg.get("lr", self.lr)
            eps = pg.get("eps", self.eps)
            weight_decay = pg.get("weight_decay", self.weight_decay)
            b0, b1 = pg.get("betas", self.betas)
            for p, g, v, m, cleared_at in zip(pg["params"], pg["grads"], pg["values"], pg["m"],
                                              pg["moments_cleared_at"]):
                if p.is_stop_grad():
                    continue
                n = float(self.n_step - cleared_at)
                g = p * weight_decay + g
                m.update(b0 * m + (1 - b0) * g)
                v.update(b1 * v + (1 - b1) * g * g)
                step_size = lr * jt.sqrt(1 - b1 ** n) / (1 - b0 ** n)
                p.update(p - m * step_size / (jt.sqrt(v) + eps))
        self.post_step()


def make_optimizer(groups: list[ParamGroup]) -> Adam:
    """Adam (β 0.9/0.999, ε 1e-8, no weight decay; a step count per parameter, :class:`Adam`) over the groups."""
    return Adam([{"params": g.params, "lr": g.lr(0)} for g in groups], lr=groups[0].lr(0),
                eps=1e-8, betas=(0.9, 0.999))


def set_learning_rates(optimizer, groups: list[ParamGroup], progress: float) -> list[float]:
    """Set every group's rate for schedule progress ``progress`` ∈ [0, 1]; returns the rates."""
    rates = [g.lr(progress) for g in groups]
    for pg, lr in zip(optimizer.param_groups, rates):
        pg["lr"] = lr
    return rates


def clear_moments(optimizer: Adam, params: list) -> int:
    """Zero Adam's moment buffers of ``params`` (after their values were reset) and restart their step counts, so
    that their next update is a fresh Adam's first one; returns how many were found. ``optimizer`` is a
    :class:`Adam` (:func:`make_optimizer`): ``jt.optim.Adam`` has one step count for all parameters."""
    if not isinstance(optimizer, Adam):
        raise TypeError("clear_moments needs jneusample.training.optim.Adam (a step count per parameter), got "
                        f"{type(optimizer).__name__}")
    wanted = {id(p) for p in params}
    found = 0
    for pg in optimizer.param_groups:
        for i, (param, m, v) in enumerate(zip(pg["params"], pg["m"], pg["values"])):
            if id(param) in wanted:
                m.assign(jt.zeros_like(m))
                v.assign(jt.zeros_like(v))
                pg["moments_cleared_at"][i] = int(optimizer.n_step)
                found += 1
    return found


def optimizer_state(optimizer: Adam) -> dict[str, Any]:
    """Adam's step count, moment buffers (NumPy arrays) and per-parameter step offsets (``moments_cleared_at``:
    the step count at which each parameter's moments were last cleared, :class:`Adam`)."""
    return {
        "n_step": int(optimizer.n_step),
        "groups": [{"m": [m.numpy().copy() for m in pg["m"]], "v": [v.numpy().copy() for v in pg["values"]],
                    "moments_cleared_at": [int(s) for s in pg["moments_cleared_at"]]}
                   for pg in optimizer.param_groups],
    }


def load_optimizer_state(optimizer: Adam, state: dict[str, Any]) -> None:
    """Restore :func:`optimizer_state`'s output (a checkpoint written before the per-parameter offsets existed
    has none: every offset is 0, the single step count it was trained with)."""
    optimizer.n_step = int(state["n_step"])
    for pg, saved in zip(optimizer.param_groups, state["groups"]):
        offsets = saved.get("moments_cleared_at", [0] * len(pg["params"]))
        pg["moments_cleared_at"] = [int(s) for s in offsets]
        for buffer, array in zip(pg["m"], saved["m"]):
            buffer.assign(jt.array(np.asarray(array)))
        for buffer, array in zip(pg["values"], saved["v"]):
            buffer.assign(jt.array(np.asarray(array)))
