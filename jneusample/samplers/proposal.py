"""Teaching a sample field where each ray's content is: a probe pass and two losses.

The photometric loss reaches a sample field only through the positions of its own samples: a weak, local
gradient that, measured, leaves every ray with the same global placement (issue 22). mip-NeRF 360 trains its
proposal sampler differently: the radiance field's compositing weights are the target, and the proposal must
*bound* them. Here the target comes from a **probe pass** in training only: the radiance field, without gradient,
at M stratified (jittered) distances of each ray, composited as usual. Its weights say where each ray's colour
comes from, everywhere on the ray, also where the sample field does not look yet. Rendering never pays for it.

Probe sample j stands for the interval [s_j, s_{j+1}] of the ray (compositing takes σ_j constant there), and the
last one for [s_M, 1]. The probe pass composites with that *finite* last interval, not the renderer's "infinite"
one: the last probe's weight is then the content between it and ``far`` (distant content attracts samples to the
far end), while what lies behind ``far`` (the background) is no place on the ray and gets no weight. (Measured:
with the infinite last interval, an untrained field gives the last probe the largest weight on every ray, the
samples all move to the far end, the radiance field never sees the object and the run stalls.)

Two losses, one per head (``model.sample_field_proposal_loss`` is λ):

* quantile head (a histogram p over K equal bins of t): :func:`interlevel_bound_loss`, mip-NeRF 360's
  L = Σ_j max(0, w_j − bound_j)² / (w_j + ε), bound_j = the mass of p on the bins that overlap [s_j, s_{j+1}].
  One-sided: p must put at least w_j around every probe interval; with masses summing to one this concentrates
  p where the weights are, and rays that hit nothing (w ≈ 0 before the last probe) keep their spread.
* paper head (N free sorted outputs): :func:`quantile_distillation_loss`, the squared distance of each sorted
  sample t_k to the (k + ½)/N quantile of the probe weights (TermiNeRF's distillation of a sampler from the
  weights), in units of the ray's length.

Both are gradient-free in the target: the radiance field is not asked to move its weights towards the sampler.
Shapes: R rays, M probes, K bins, N samples.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..platform.backend import jt
from .distances import cumulative_distribution, inverse_cdf
from ..rendering import Rays, RenderSettings, query_and_composite
from .stratified import stratified_unit_samples, unit_to_distance

BOUND_EPS = 1e-7
"""ε of :func:`interlevel_bound_loss`'s division by w_j (mip-NeRF 360 uses float32's machine epsilon)."""


def probe_weights(field, rays: Rays, settings: RenderSettings, n_probes: int) -> tuple[jt.Var, jt.Var]:
    """The probe pass: ``field`` (a RadianceField) at M jittered stratified positions of every ray, composited
    without density noise, with a last interval of the mean length of [s_M, far] (module docstring), and without
    gradient.

    Returns:
        (s, w): positions s ∈ [0, 1] (R, M), ascending, and their compositing weights (R, M), gradient-free.
    """
    with jt.no_grad():
        s = stratified_unit_samples(len(rays), n_probes, jitter=True)
        last = (settings.far - settings.near) * float(1.0 - (n_probes - 0.5) / n_probes)  # [s_M, far] on average
        quiet = dataclasses.replace(settings, density_noise_std=0.0, last_interval=last)
        weights = query_and_composite(field, rays, unit_to_distance(s, settings.near, settings.far), quiet)["weights"]
    return s.stop_grad(), weights.stop_grad()


def probed_rays(rays: Rays, share: float) -> Rays:
    """The rays the probe pass sees: the first ⌈share·R⌉ (at least one) of ``rays``. A training step's rays are
    drawn at random, so these are a random subset, and the sampler's outputs for them are the same leading rows."""
    count = max(1, math.ceil(share * len(rays)))
    if count >= len(rays):
        return rays
    return Rays(rays.origins[:count], rays.directions[:count], rays.view_dirs[:count])


def probe_intervals(s: jt.Var) -> tuple[jt.Var, jt.Var]:
    """The interval each probe stands for: [s_j, s_{j+1}] and, for the last, [s_M, 1]. (R, M) each."""
    upper = jt.concat([s[:, 1:], jt.ones((s.shape[0], 1), dtype=s.dtype)], dim=1)
    return s, upper


def interlevel_bound_loss(masses: jt.Var, s: jt.Var, w: jt.Var) -> jt.Var:
    """mip-NeRF 360's interlevel loss of the quantile head's histogram against the probe weights (scalar).

    bound_j = C(⌈s_{j+1}·K⌉/K) − C(⌊s_j·K⌋/K), the mass of p (C its CDF at the bin edges) on the equal bins
    that overlap probe interval j (:func:`probe_intervals`); L = mean_r Σ_j max(0, w_j − bound_j)² / (w_j + ε).

    Args:
        masses: (R, K) bin masses p (rows sum to 1; the gradient flows into these).
        s: (R, M) probe positions in [0, 1], ascending (gradient-free).
        w: (R, M) their compositing weights (gradient-free).
    """
    bins = masses.shape[1]
    lower, upper = probe_intervals(s.detach())
    low_edge = jt.floor(lower * bins).clamp(0, bins).int32()
    high_edge = jt.ceil(upper * bins).clamp(0, bins).int32()
    high_edge = jt.maximum(high_edge, low_edge + 1).clamp(0, bins)
    cdf = cumulative_distribution(masses)  # (R, K + 1)
    bound = jt.gather(cdf, 1, high_edge) - jt.gather(cdf, 1, low_edge)
    w = w.detach()
    return (jt.maximum(w - bound, 0.0) ** 2 / (w + BOUND_EPS)).sum(-1).mean()


def weight_quantiles(s: jt.Var, w: jt.Var, n_samples: int) -> jt.Var:
    """The (k + ½)/N quantiles (R, N) of the probe weights, each weight spread evenly over its interval
    (:func:`probe_intervals`; [0, s_1] gets no weight), by inverse transform sampling (gradient-free)."""
    rays = s.shape[0]
    edges = jt.concat([jt.zeros((rays, 1), dtype=s.dtype), s, jt.ones((rays, 1), dtype=s.dtype)], dim=1)
    weights = jt.concat([jt.zeros((rays, 1), dtype=w.dtype), w], dim=1)
    levels = jt.array(((np.arange(n_samples) + 0.5) / n_samples).astype(np.float32)).reshape([1, n_samples])
    return inverse_cdf(edges.detach(), weights.detach(), levels.broadcast([rays, n_samples]))


def quantile_distillation_loss(t: jt.Var, s: jt.Var, w: jt.Var) -> jt.Var:
    """Paper head: mean over rays and samples of (t_k − q_k)², q the (k + ½)/N quantiles of the probe weights
    (:func:`weight_quantiles`); t (R, N) the sorted samples in [0, 1] (the gradient flows into these)."""
    target = weight_quantiles(s, w, t.shape[1]).stop_grad()
    return ((t - target) ** 2).mean()
