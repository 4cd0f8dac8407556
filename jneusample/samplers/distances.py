"""NeRF's distance samplers: distances z along rays, stratified (coarse) and inverse-CDF (hierarchical, fine).

Pure functions, no module state; each returns distances of shape (R, N), sorted along each ray. NeuSample's
sample field (``jneusample.fields.sample_field``) is the learned alternative to both; its quantile head uses the
inverse-CDF primitive here (:func:`piecewise_linear_quantiles`, differentiable) on a learned histogram.

Randomness comes from Jittor's generator (``jt.rand``), so ``jt.set_seed`` (which the trainer calls per step)
makes a training step reproducible and a resumed run draw what the uninterrupted run would have drawn.
"""
from __future__ import annotations

import numpy as np

from ..platform.backend import jt

_INCLUSIVE_SUM = {}


def _inclusive_cumsum(x: jt.Var) -> jt.Var:
    """Σ_{j≤i} x_j along the last axis of (R, M) as a matmul with an upper-triangular ones matrix.

    M is at most a few hundred, so the R·M² multiply-adds are negligible next to the MLPs, and a matmul runs as
    one kernel on CPU and GPU (Jittor's CPU cumsum goes through a NumPy callback).
    """
    m = x.shape[-1]
    if m not in _INCLUSIVE_SUM:
        _INCLUSIVE_SUM[m] = np.triu(np.ones((m, m), np.float32))
    return jt.matmul(x, jt.array(_INCLUSIVE_SUM[m]))


def stratified_distances(near: float, far: float, n_rays: int, n_samples: int, jitter: bool) -> jt.Var:
    """NeRF's coarse samples: N evenly spaced distances in [near, far], jittered inside their bins in training.

    Without jitter the samples are ``linspace(near, far, N)`` (the official NeRF code; the same for every ray).
    With jitter, sample k is drawn uniformly from its bin [lower_k, upper_k], whose edges are the midpoints
    between neighbouring linspace points, clipped to [near, far] (so the first and last bins are half as long):
    ``z_k = lower_k + (upper_k − lower_k)·u_k``, u_k ~ U(0, 1) independently per ray and sample. Sorted order
    is preserved because the bins do not overlap.

    Args:
        near, far: ray bounds (near < far).
        n_rays: R.
        n_samples: N ≥ 1.
        jitter: draw inside the bins (training) instead of taking the bin centres' linspace (evaluation).
    Returns:
        (R, N) float32 distances, gradient-free.
    """
    z = np.linspace(near, far, n_samples, dtype=np.float64) if n_samples > 1 else np.array([0.5 * (near + far)])
    if not jitter:
        return jt.array(z.astype(np.float32)).reshape([1, n_samples]).broadcast([n_rays, n_samples]).stop_grad()
    lower, upper = bin_edges(near, far, n_samples)
    lower_v = jt.array(lower.astype(np.float32)).reshape([1, n_samples])
    width_v = jt.array((upper - lower).astype(np.float32)).reshape([1, n_samples])
    return (lower_v + width_v * jt.rand((n_rays, n_samples))).stop_grad()


def bin_edges(near: float, far: float, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The stratification bins of :func:`stratified_distances`: (lower, upper), each (N,) float64."""
    if n_samples == 1:
        return np.array([near], np.float64), np.array([far], np.float64)
    z = np.linspace(near, far, n_samples, dtype=np.float64)
    mids = 0.5 * (z[1:] + z[:-1])
    return np.concatenate([[near], mids]), np.concatenate([mids, [far]])


def inverse_cdf_distances(bins: jt.Var, weights: jt.Var, n_samples: int, jitter: bool) -> jt.Var:
    """NeRF's hierarchical sampling: draw distances from the piecewise-constant PDF that ``weights`` define.

    The quantiles given to :func:`inverse_cdf` are ``linspace(0, 1, n)`` at evaluation (deterministic) and
    sorted U(0, 1) draws in training (sorted so that the output is ascending; as a set of samples this is the
    same distribution). No gradient flows into the samples (NeRF stops it: the coarse network learns only from
    its own loss).

    Args:
        bins: (R, M+1) ascending bin edges (NeRF passes the midpoints of the coarse samples).
        weights: (R, M) non-negative weights of the bins (NeRF passes the coarse weights without the first and
            last sample).
        n_samples: n, the number of distances to draw per ray.
        jitter: random quantiles (training) instead of evenly spaced ones.
    Returns:
        (R, n) float32 distances, ascending along each ray, gradient-free.
    """
    rays = weights.shape[0]
    if jitter:
        _, u = jt.argsort(jt.rand((rays, n_samples)), dim=1)  # sorted quantiles give sorted samples
    else:
        u = jt.array(np.linspace(0.0, 1.0, n_samples, dtype=np.float32)).reshape([1, n_samples])
        u = u.broadcast([rays, n_samples])
    return inverse_cdf(bins, weights, u)


def inverse_cdf(bins: jt.Var, weights: jt.Var, u: jt.Var) -> jt.Var:
    """The distances at quantiles ``u`` of the piecewise-constant PDF that ``weights`` define over ``bins``.

    Bin m spans [bins_m, bins_{m+1}] and has probability p_m = (w_m + 1e-5) / Σ_j (w_j + 1e-5) (the 1e-5 keeps
    empty rays from dividing by zero and gives every bin a little mass). With the CDF c_0 = 0,
    c_{m+1} = Σ_{j≤m} p_j, a quantile u ∈ [0, 1] falls in the bin m with c_m ≤ u < c_{m+1} and maps linearly
    inside it: z = bins_m + (u − c_m) / (c_{m+1} − c_m) · (bins_{m+1} − bins_m) (inverse transform sampling).
    Ascending quantiles give ascending distances.

    The inversion is :func:`piecewise_linear_quantiles`: R·n·(M+1) comparisons, small next to the MLPs.
    Used by NeRF's hierarchical sampling (:func:`inverse_cdf_distances`) and by the quantile targets of
    distilled sample field extraction (:mod:`jneusample.training.distill`).

    Args:
        bins: (R, M+1) ascending bin edges.
        weights: (R, M) non-negative weights of the bins.
        u: (R, n) quantiles in [0, 1].
    Returns:
        (R, n) float32 distances, gradient-free.
    """
    bins = bins.detach()
    weights = weights.detach() + 1e-5
    cdf = cumulative_distribution(weights / weights.sum(-1, keepdims=True))  # (R, M+1)
    return piecewise_linear_quantiles(bins, cdf, u).stop_grad()


def cumulative_distribution(pdf: jt.Var) -> jt.Var:
    """The CDF at the bin edges of a piecewise-constant PDF: bin masses (R, M) summing to 1 → (R, M+1) with
    c_0 = 0, c_{m+1} = Σ_{j≤m} p_j (differentiable)."""
    return jt.concat([jt.zeros((pdf.shape[0], 1), dtype=pdf.dtype), _inclusive_cumsum(pdf)], dim=1)


def piecewise_linear_quantiles(edges: jt.Var, cdf: jt.Var, u: jt.Var, min_step: float = 1e-5) -> jt.Var:
    """x = F⁻¹(u) for the piecewise-linear CDF F through the points (edges_m, cdf_m): the core of
    :func:`inverse_cdf`, differentiable (the sample field's quantile head learns through it).

    A level u falls in the bin m with c_m ≤ u < c_{m+1} (found as a count of the CDF entries ≤ u, i.e.
    searchsorted side='right') and maps linearly inside it. Gradients reach ``edges``, ``cdf`` and ``u`` (the bin
    index itself is piecewise constant). A bin of mass below ``min_step`` is treated as mass 1, so that u at or
    past the last CDF entry (below == above) lands on the last edge instead of dividing by ~0.

    Args:
        edges: (R, M+1) ascending bin edges.
        cdf: (R, M+1) non-decreasing, c_0 = 0, c_M = 1 (:func:`cumulative_distribution`).
        u: (R, n) levels in [0, 1].
    Returns:
        (R, n) float32 positions in [edges_0, edges_M], ascending where ``u`` is.
    """
    n_bins = cdf.shape[1] - 1
    # index of the first CDF entry > u (searchsorted, side='right'), as a count of entries ≤ u
    above = (cdf.unsqueeze(1) <= u.unsqueeze(2)).int32().sum(-1)  # (R, n) in [1, M+1] since c_0 = 0 ≤ u
    below = jt.maximum(above - 1, 0)
    above = jt.minimum(above, n_bins)
    cdf_below, cdf_above = jt.gather(cdf, 1, below), jt.gather(cdf, 1, above)
    edges_below, edges_above = jt.gather(edges, 1, below), jt.gather(edges, 1, above)
    denom = cdf_above - cdf_below
    # u at or past the last CDF entry (u = 1 with rounding) has below == above: put it on the last edge
    denom = jt.where(denom < min_step, jt.ones_like(denom), denom)
    t = (u - cdf_below) / denom
    return edges_below + t * (edges_above - edges_below)
