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
    lr: Callable[[int], float]
    """Learning rate as a function of the step."""


def linear_decay(lr: float, lr_final: float, steps: int) -> Callable[[int], float]:
    """lr(step) = (lr − lr_final)·(1 − step/steps) + lr_final ('Poly' with power 1, per step)."""
    def schedule(step: int) -> float:
        return (lr - lr_final) * max(0.0, 1.0 - step / steps) + lr_final
    return schedule


def constant(lr: float) -> Callable[[int], float]:
    return lambda step: lr


def param_groups(model, config: Config) -> list[ParamGroup]:
    """Training: one group, linear decay. Extraction: sample field and radiance field at constant rates,
    every parameter in exactly one group (the reference port put the sample-field trunk in both)."""
    if config.extract.parent:
        sample_ids = {id(p) for p in model.sample_field.parameters()}
        rest = [p for p in model.parameters() if id(p) not in sample_ids]
        return [
            ParamGroup("sample_field", list(model.sample_field.parameters()), constant(config.extract.sample_field_lr)),
            ParamGroup("radiance_field", rest, constant(config.extract.radiance_lr)),
        ]
    return [ParamGroup("all", list(model.parameters()),
                       linear_decay(config.train.lr, config.train.lr_final, config.train.steps))]


def make_optimizer(groups: list[ParamGroup]) -> jt.optim.Adam:
    """Adam (β 0.9/0.999, ε 1e-8, no weight decay) over the groups."""
    return jt.optim.Adam([{"params": g.params, "lr": g.lr(0)} for g in groups], lr=groups[0].lr(0),
                         eps=1e-8, betas=(0.9, 0.999))


def set_learning_rates(optimizer, groups: list[ParamGroup], step: int) -> list[float]:
    rates = [g.lr(step) for g in groups]
    for pg, lr in zip(optimizer.param_groups, rates):
        pg["lr"] = lr
    return rates


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
