"""A collapsed sample field: its samples piled at the rays' near and far ends, measured.

The paper's sample-field head squashes free outputs with a sigmoid. Pushed far enough (under Adam a head output's
weights all move by about the learning rate per step, in the same direction), the outputs saturate: every sample
sits at t = 0 or 1, the radiance field is only asked about two planes outside the scene, and no gradient brings
the samples back (docs/benchmarks.md, "Equal steps on all three scenes"). :func:`samples_at_ends` measures it
(validation records it as ``val_samples_at_ends``); the trainer's
:func:`~jneusample.training.sampler_reset.reset_if_collapsed` undoes it when nearly every ray has collapsed
(:func:`collapsed_rays`, ``train.reset_collapsed_sample_field``).
"""
from __future__ import annotations

import numpy as np


SAMPLES_AT_ENDS_WARNING = 0.5
"""Share of samples at the rays' ends above which a sample field (validation's warning) or one ray
(:func:`collapsed_rays`) counts as collapsed."""

COLLAPSED_RAYS_RESET = 0.9
"""Share of a training step's rays that must each be collapsed (:func:`collapsed_rays`) before the sample field
is reset. Decided per ray, not over all samples: a background ray may rightly put its samples at the far end
(nothing lies before it), so a batch of mostly background rays can have more than half of its samples at the ends
while the field is healthy; a collapsed field (saturated sigmoid outputs, whatever the ray) does it on every ray.
Nearly every ray rather than every one, so that a few rays whose outputs have not saturated yet do not hold off a
reset."""


def _at_ends(z: np.ndarray, near: float, far: float, tolerance: float) -> np.ndarray:
    """Whether each distance of ``z`` (any shape) lies within ``tolerance``·(far − near) of ``near`` or ``far``."""
    margin = tolerance * (far - near)
    return (z <= near + margin) | (z >= far - margin)


def samples_at_ends(z: np.ndarray, near: float, far: float, tolerance: float = 1e-3) -> float:
    """Share of the distances ``z`` (any shape) within ``tolerance``·(far − near) of ``near`` or ``far``."""
    return float(np.mean(_at_ends(z, near, far, tolerance)))


def collapsed_rays(z: np.ndarray, near: float, far: float, tolerance: float = 1e-3) -> float:
    """Share of the rays of ``z`` (R, N) with more than :data:`SAMPLES_AT_ENDS_WARNING` of their N samples within
    ``tolerance``·(far − near) of ``near`` or ``far``."""
    per_ray = np.mean(_at_ends(z, near, far, tolerance), axis=-1)
    return float(np.mean(per_ray > SAMPLES_AT_ENDS_WARNING))
