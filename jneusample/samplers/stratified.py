"""Stratified sampling: N equal bins of [near, far], one sample per bin.

The control of every claim about the sample field (same radiance field, same compositing; only where the samples
go differs): jittered inside each bin in training, the bin centres (k + ½)/N at render time, for any N.
"""
from __future__ import annotations

import numpy as np

from ..platform.backend import jt

from ..config import ModelConfig
from ..rendering import Rays, RenderSettings, check_samples_per_ray
from .base import Sampler, Samples


def stratified_unit_samples(n_rays: int, n_samples: int, jitter: bool) -> jt.Var:
    """t ∈ [0, 1], (R, N), ascending: (k + u_k)/N with u_k ~ U(0, 1) per ray and sample (``jitter``), else the
    bin centres (k + ½)/N on every ray. Jittor's generator, so the trainer's per-step seed makes it reproducible.
    Gradient-free."""
    k = jt.array(np.arange(n_samples, dtype=np.float32)).reshape([1, n_samples])
    if jitter:
        return ((k + jt.rand((n_rays, n_samples))) / n_samples).stop_grad()
    return ((k + 0.5) / n_samples).broadcast([n_rays, n_samples]).stop_grad()


def unit_to_distance(t: jt.Var, near: float, far: float, inverse_depth: bool = False) -> jt.Var:
    """Positions t ∈ [0, 1] (any shape) → distances in [near, far]: z = near·(1 − t) + far·t, linear in depth (in
    NDC depth for forward-facing scenes), or with ``inverse_depth`` linear in disparity,
    z = 1 / ((1/near)·(1 − t) + (1/far)·t)."""
    if inverse_depth:
        return 1.0 / ((1.0 / near) * (1.0 - t) + (1.0 / far) * t)
    return near * (1.0 - t) + far * t


def unit_positions(z: np.ndarray, near: float, far: float, inverse_depth: bool = False) -> np.ndarray:
    """The sample field's t ∈ [0, 1] of distances z (any shape): the inverse of its map t → z, which is linear
    in depth, z = near·(1 − t) + far·t, or with ``inverse_depth`` linear in disparity (:func:`unit_to_distance`)."""
    if inverse_depth:
        return (1.0 / z - 1.0 / near) / (1.0 / far - 1.0 / near)
    return (z - near) / (far - near)


def jitter_within_intervals(t: jt.Var) -> jt.Var:
    """Move each sorted sample uniformly within its share of the ray: t (R, N) ascending in [0, 1] → t' (R, N).

    Sample k's share is [m_{k−1}, m_k], m_k = (t_k + t_{k+1})/2 the midpoints to its neighbours, and for the first
    and last samples the mirrored half gap, clipped to [0, 1]; t'_k = m_{k−1} + u_k·(m_k − m_{k−1}) with
    u_k ~ U(0, 1). Shares do not overlap, so t' stays sorted; the gradient reaches t through the shares' ends.
    Stratified sampling's jitter around a learnt placement: training sees every depth near the samples, so the
    radiance field does not learn the density at N fixed depths only (N ≥ 2).
    """
    mids = 0.5 * (t[:, 1:] + t[:, :-1])
    first = t[:, :1] - 0.5 * (t[:, 1:2] - t[:, :1])
    last = t[:, -1:] + 0.5 * (t[:, -1:] - t[:, -2:-1])
    lower = jt.concat([first, mids], dim=1).clamp(0.0, 1.0)
    upper = jt.concat([mids, last], dim=1).clamp(0.0, 1.0)
    return lower + (upper - lower) * jt.rand(t.shape)


class StratifiedSampler(Sampler):
    """The control of every claim about the sample field: N equal bins of [near, far], jittered in training, the
    bin centres at render time; any N without weights (``eval --samples N``), no network of its own."""

    def __init__(self, n_samples: int, inverse_depth: bool = False):
        super().__init__()
        self.n_samples, self.inverse_depth = int(n_samples), inverse_depth

    @staticmethod
    def from_config(config: ModelConfig) -> "StratifiedSampler":
        return StratifiedSampler(config.n_samples, config.inverse_depth)

    @property
    def samples_per_ray(self) -> int:
        return self.n_samples

    def set_samples_per_ray(self, n: int) -> None:
        self.n_samples = check_samples_per_ray(n)

    def sample(self, rays: Rays, settings: RenderSettings) -> Samples:
        t = stratified_unit_samples(len(rays), self.n_samples, jitter=settings.perturb)
        return Samples(unit_to_distance(t, settings.near, settings.far, self.inverse_depth))

    def flops_per_ray(self, executed: bool = False) -> int:
        return 0
