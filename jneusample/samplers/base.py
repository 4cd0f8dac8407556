"""The sampler interface: rays → sorted sample distances for the radiance field (one concept, four implementations).

A model is a sampler + a radiance field + compositing (:class:`jneusample.models.model.Model`). Only the sampler
differs between NeuSample (a sample field: :mod:`.sample_field`, the paper head and the any-N quantile head), the
stratified control (:mod:`.stratified`) and NeRF (:mod:`.coarse_to_fine`: a coarse radiance field whose weights
place the fine samples). The trainer, extraction and the benchmark talk to a sampler only through this class.

Shapes: R rays, N samples per ray (the radiance field's queries of the final pass).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..platform.backend import jt  # noqa: F401  (configures Jittor before it is imported)
from jittor import nn  # noqa: E402

from ..errors import InputError
from ..rendering import Rays, RenderSettings


@dataclass
class Samples:
    """What a sampler gives the radiance field for R rays."""

    z: jt.Var
    """(R, N) distances along the rays' directions, ascending along each ray, in [near, far]."""
    extras: dict[str, jt.Var] = field(default_factory=dict)
    """What the sampler's own :meth:`Sampler.loss` reads later (e.g. the coarse pass's colour, the sample field's
    positions and histogram); merged into the model's outputs, so it must not reuse their keys."""


class Sampler(nn.Module, ABC):
    """Where along each ray the radiance field is queried.

    ``sample(rays, settings)`` returns :class:`Samples`; ``settings.perturb`` marks a training pass. A sampler
    may own networks (a sample field, NeRF's coarse field): their parameters are the sampler's. After the main
    pass, :meth:`probe` may query the model's radiance field without gradient (what its loss compares with).
    """

    supports_extraction: ClassVar[bool] = False
    """Whether :meth:`prepare_extraction` turns a trained sampler into one with fewer samples per ray."""
    learning_rate_scaled: ClassVar[bool] = False
    """Whether ``train.sample_field_lr_scale`` applies to the sampler's parameters (a group of their own)."""

    @property
    @abstractmethod
    def samples_per_ray(self) -> int:
        """N: the radiance-field queries per ray of the final pass at render time."""

    @property
    def training_samples_per_ray(self) -> int:
        """N of the current training step (after :meth:`begin_training_step`); :attr:`samples_per_ray` unless
        the sampler varies it per step."""
        return self.samples_per_ray

    @property
    def extra_points_per_ray(self) -> int:
        """Radiance-network queries per ray that the sampler spends itself at render time (NeRF's coarse pass);
        0 for a sampler whose networks are per ray, not per point."""
        return 0

    def set_samples_per_ray(self, n: int) -> None:
        """Render with N = ``n`` from now on, without new weights; a one-line InputError where N is fixed by the
        weights (the default)."""
        raise InputError(f"{type(self).__name__} renders a fixed {self.samples_per_ray} samples per ray; "
                         "it cannot render at another number")

    @abstractmethod
    def sample(self, rays: Rays, settings: RenderSettings) -> Samples:
        """The samples of ``rays``: jittered where ``settings.perturb`` (training), deterministic otherwise."""

    def probe(self, rays: Rays, settings: RenderSettings, radiance_field) -> dict[str, jt.Var]:
        """A training pass's look at the radiance field after the main pass, for :meth:`losses` (a gradient-free
        probe pass, :mod:`.proposal`); merged into the outputs. Nothing by default."""
        return {}

    def losses(self, outputs: dict[str, jt.Var], target: jt.Var) -> list[jt.Var]:
        """The sampler's own training loss terms (scalars, λ included) from the model's outputs (which hold
        :attr:`Samples.extras`) and the target colours (R, 3): added, in this order, to the photometric loss.
        None by default."""
        return []

    @abstractmethod
    def flops_per_ray(self, executed: bool = False) -> int:
        """FLOPs per ray of producing the samples at render time (2·in·out per Linear layer and row): the
        sampler's own networks; nominal or ``executed`` (see :func:`jneusample.models.model.radiance_flops`)."""

    def begin_training_step(self, step: int, seed: int) -> None:
        """Called before the forward pass of training step ``step`` with the same arguments on every MPI rank: a
        sampler that varies what it does per step (the quantile head's N) decides it here, reproducibly."""

    def reset_if_collapsed(self) -> list:
        """Put a learnt placement that has collapsed (samples at the rays' ends) back at its uniform start, in
        place and alike on every rank; returns the parameters reset (their optimizer moments are then cleared).
        Nothing to reset by default: ``[]``."""
        return []

    def prepare_extraction(self, n_samples: int) -> None:
        """Turn this trained sampler, in place, into the start of an extraction to ``n_samples`` per ray."""
        raise InputError(f"{type(self).__name__} does not support sample field extraction")

    def start_extraction_at(self, z: np.ndarray, near: float, far: float) -> None:
        """After :meth:`prepare_extraction`: start every ray at the distances ``z`` (N_e,), ascending in
        [near, far] (``extract.head_init``)."""
        raise InputError(f"{type(self).__name__} does not support sample field extraction")
