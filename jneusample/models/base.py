"""The interface every model implements (NeuSample, NeRF), and what their implementations share.

The trainer, the optimizer set-up, evaluation, extraction and the benchmark talk to a model only through
:class:`Model`; none of them asks which model it is. Which models exist is :mod:`jneusample.models.registry`.

Shapes: R rays, N points per ray (radiance-field queries of one pass); see :mod:`jneusample.rendering`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from ..platform.backend import jt  # noqa: F401  (configures Jittor before it is imported)
from jittor import nn  # noqa: E402

from ..config import Config
from ..errors import InputError
from ..training.optim import ParamGroup, warmup_linear_decay
from ..rendering import Rays, RenderSettings


def mse(prediction: jt.Var, target: jt.Var) -> jt.Var:
    """Mean over rays and channels of the squared colour error: (R, 3), (R, 3) → scalar."""
    return ((prediction - target) ** 2).mean()


class Model(nn.Module, ABC):
    """A radiance-field model: how sample distances are produced + radiance field(s) + compositing.

    ``model(rays, settings)`` returns a dict with at least ``color`` (R, 3), ``depth`` (R,), ``acc`` (R,),
    and the per-sample ``z`` (R, N) distances with their compositing ``weights`` (R, N).
    """

    supports_extraction: ClassVar[bool] = False
    """Whether :meth:`prepare_extraction` can turn a trained model into one with fewer points per ray."""

    @property
    @abstractmethod
    def points_per_ray(self) -> int:
        """Radiance-field queries per ray (every MLP point of a ray; for chunking and cost accounting)."""

    @property
    def training_points_per_ray(self) -> int:
        """Radiance-field queries per ray of the current training step (after :meth:`begin_training_step`):
        :attr:`points_per_ray` unless the model varies it per step."""
        return self.points_per_ray

    def set_points_per_ray(self, n: int) -> None:
        """Render with ``n`` points per ray from now on, without new weights (``eval --samples N``); afterwards
        :attr:`points_per_ray` is ``n``. A one-line InputError for a model whose N is fixed by its weights (the
        default) or for an ``n`` it cannot use."""
        raise InputError(f"{type(self).__name__} renders a fixed {self.points_per_ray} points per ray; "
                         "it cannot render at another number")

    def begin_training_step(self, step: int, seed: int) -> None:
        """Called by the trainer before the forward pass of training step ``step`` (``train.seed``), with the same
        arguments on every MPI rank: a model that varies per step what it does (NeuSample's quantile head draws
        the step's N from ``model.samples_choices``) decides it here, reproducibly. Nothing by default."""

    @abstractmethod
    def execute(self, rays: Rays, settings: RenderSettings) -> dict[str, jt.Var]:
        """Render R rays: ``color`` (R, 3), ``depth`` (R,), ``acc`` (R,), ``z`` and ``weights`` (R, N), ..."""

    @abstractmethod
    def loss(self, outputs: dict[str, jt.Var], target: jt.Var) -> jt.Var:
        """The photometric training loss (scalar) of ``outputs`` against the target colours (R, 3)."""

    @abstractmethod
    def flops_per_ray(self, executed: bool = False) -> int:
        """MLP FLOPs (2·in·out per Linear layer and input row) of rendering one ray: nominal (the layers as
        written) or ``executed`` (what the implementation runs; see :func:`radiance_flops`)."""

    def training_color_mse(self, outputs: dict[str, jt.Var], target: jt.Var, loss: jt.Var) -> jt.Var:
        """MSE (scalar) of the rendered ``color`` (R, 3) against ``target`` (R, 3), for the training log.

        ``loss`` is ``self.loss(outputs, target)``; a model whose loss is exactly this MSE returns it as is.
        """
        return mse(outputs["color"], target)

    def set_bf16_training(self, enabled: bool) -> None:
        """Let every MLP trunk of the model run its training matmuls in bfloat16 (``train.bf16_matmuls``)."""
        from ..fields.mlp import SkipMLP

        for module in self.modules():
            if isinstance(module, SkipMLP):
                module.bf16_training = enabled

    def param_groups(self, config: Config) -> list[ParamGroup]:
        """Optimizer groups, every parameter in exactly one. Training: one group, warm-up then linear decay;
        an extraction run (``config.extract.parent``): :meth:`extraction_param_groups`."""
        if config.extract.parent:
            return self.extraction_param_groups(config)
        train = config.train
        return [ParamGroup("all", list(self.parameters()),
                           warmup_linear_decay(train.lr, train.lr_final, train.warmup_fraction))]

    def reset_collapsed_sampler(self) -> list:
        """Put a learnt sampler that has collapsed (its samples at the rays' ends) back at its uniform start, in
        place and alike on every rank; returns the parameters it reset (the trainer clears their optimizer
        moments). A model without a learnt sampler (NeRF) has nothing to reset: ``[]``."""
        return []

    def extraction_param_groups(self, config: Config) -> list[ParamGroup]:
        """Optimizer groups of an extraction run (only for models that :attr:`supports_extraction`)."""
        raise InputError(f"{type(self).__name__} does not support sample field extraction")

    def prepare_extraction(self, n_samples: int) -> None:
        """Turn this trained model, in place, into the start of an extraction to ``n_samples`` points per ray."""
        raise InputError(f"{type(self).__name__} does not support sample field extraction")

    def start_extraction_at(self, z: np.ndarray, near: float, far: float) -> None:
        """After :meth:`prepare_extraction`: make the new sampler start at the distances ``z`` (N_e,), ascending in
        [near, far], on every ray (``extract.head_init``)."""
        raise InputError(f"{type(self).__name__} does not support sample field extraction")


def linear_flops(layer: nn.Linear) -> int:
    """2·in·out: the multiply-adds of one Linear layer per input row (bias adds not counted)."""
    out_features, in_features = layer.weight.shape
    return 2 * int(in_features) * int(out_features)


def radiance_flops(field, executed: bool = False) -> tuple[int, int]:
    """(per point, per ray) FLOPs of a RadianceField: the trunk and heads run per point; the view-direction
    part of the colour layer runs once per ray (every point of a ray shares the direction).

    ``executed``: what the implementation runs instead of the nominal layer list: ``feature_out`` and the
    feature part of ``color_hidden`` are applied as one (width/2 × width) product, i.e. without feature_out's
    width² per point (the per-chunk cost of forming the product is negligible and not counted).
    """
    per_point = sum(linear_flops(layer) for layer in field.trunk.layers)
    per_point += linear_flops(field.density_out) + linear_flops(field.feature_out) + linear_flops(field.color_out)
    hidden, inputs = field.color_hidden.weight.shape
    per_point += 2 * field.width * int(hidden)
    if executed:
        per_point -= linear_flops(field.feature_out)
    per_ray = 2 * (int(inputs) - field.width) * int(hidden)
    return per_point, per_ray
