"""A collapsed sample field: its samples piled at the rays' near and far ends. Measuring it, and the reset.

The paper's sample-field head squashes free outputs with a sigmoid. Pushed far enough (under Adam a head output's
weights all move by about the learning rate per step, in the same direction), the outputs saturate: every sample
sits at t = 0 or 1, the radiance field is only asked about two planes outside the scene, and no gradient brings
the samples back (docs/benchmarks.md, "Equal steps on all three scenes"). :func:`samples_at_ends` measures it
(validation records it as ``val_samples_at_ends``); :func:`reset_if_collapsed` undoes it
(``train.reset_collapsed_sample_field``).
"""
from __future__ import annotations

import numpy as np

from . import distributed
from .backend import jt
from .optim import clear_moments

SAMPLES_AT_ENDS_WARNING = 0.5
"""Share of samples at the rays' ends above which a sample field counts as collapsed."""


def samples_at_ends(z: np.ndarray, near: float, far: float, tolerance: float = 1e-3) -> float:
    """Share of the distances ``z`` (any shape) within ``tolerance``·(far − near) of ``near`` or ``far``."""
    margin = tolerance * (far - near)
    return float(np.mean((z <= near + margin) | (z >= far - margin)))


def reset_if_collapsed(model, optimizer, z: jt.Var, near: float, far: float) -> float | None:
    """When more than :data:`SAMPLES_AT_ENDS_WARNING` of the training step's samples ``z`` (R, N) lie at the
    rays' ends (the mean over MPI ranks: collective, every rank calls it at the same step), reset the model's
    sampler (:meth:`~jneusample.model_base.Model.reset_collapsed_sampler`) and clear its Adam moments.

    Returns that share when it reset, else None (no collapse, or a model without a learnt sampler). The decision
    and the reset are deterministic, so a resumed run makes the same ones.
    """
    share = distributed.mean_over_ranks(samples_at_ends(z.numpy(), near, far))
    if share <= SAMPLES_AT_ENDS_WARNING:
        return None
    params = model.reset_collapsed_sampler()
    if not params:
        return None
    clear_moments(optimizer, params)
    return share
