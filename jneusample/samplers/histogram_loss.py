"""The quantile head's histogram loss: the sample field learns where the radiance field puts each ray's colour.

The quantile head (docs/method.md §8) describes a density along the ray, K bin masses p over t ∈ [0, 1], and
its N samples are that density's quantiles. The photometric loss reaches p only through the sample positions, a
weak and local gradient. This loss tells p directly where the rendering weights are, as mip-NeRF 360's proposal
loss tells its proposal network (here as a cross-entropy against a binned target instead of an upper bound):

    q_b = Σ_{k<N} w_k · |[t_k, t_{k+1}] ∩ bin b| / (t_{k+1} − t_k)  +  (1 − Σ_{k<N} w_k)⁺ / K
    L   = mean_r  − Σ_b q_b · log p_b

Sample k's weight is spread evenly over its interval [t_k, t_{k+1}]: compositing takes σ_k constant on that
interval. The last sample's interval is "infinite" (``render.last_interval``): its weight is whatever the ray
has left behind it, the background, not a place in [t_N, 1]. It is left out with the rest the ray leaves
((1 − Σ w)⁺, the white background) and spread evenly, so a ray that hits nothing keeps the uniform histogram.
(Binned onto [t_N, 1] instead, the background weight pulls the histogram to the far end, which moves the last
samples there and gives them more background.) q sums to 1; L − H(q) = KL(q ‖ p) ≥ 0, minimal at p = q. The
target is gradient-free (the radiance field is not asked to move its weights towards the sampler); the
gradient, (p − q) per bin for the softmax logits, reaches only the sample field. Since samples are the
quantiles of p, at any N they fall where the weights are.

Shapes: R rays, N samples, K bins. Cost: an (R, N, K) overlap tensor per step, no MLP work.
"""
from __future__ import annotations

import numpy as np

from ..platform.backend import jt


def interval_histogram(t: jt.Var, weights: jt.Var, n_bins: int) -> jt.Var:
    """The rendering weights in front of the last sample binned onto K equal bins of [0, 1], each sample's
    weight spread evenly over its interval [t_k, t_{k+1}] (the last sample's weight is left out: module
    docstring).

    Args:
        t: (R, N) ascending sample positions in [0, 1].
        weights: (R, N) their compositing weights.
        n_bins: K.
    Returns:
        (R, K) gradient-free weight mass per bin; each row sums to Σ_{k<N} w_k (up to intervals of zero length).
    """
    t, weights = t.detach(), weights.detach()  # copies: stop_grad() would cut the rendering's own gradient
    upper, t, weights = t[:, 1:], t[:, :-1], weights[:, :-1]
    edges = np.linspace(0.0, 1.0, n_bins + 1, dtype=np.float32)
    left = jt.array(edges[:-1]).reshape([1, 1, n_bins])
    right = jt.array(edges[1:]).reshape([1, 1, n_bins])
    overlap = jt.maximum(jt.minimum(upper.unsqueeze(2), right) - jt.maximum(t.unsqueeze(2), left), 0.0)
    density = weights / jt.maximum(upper - t, 1e-9)  # weight per unit of t on each interval
    return (overlap * density.unsqueeze(2)).sum(1).stop_grad()


def histogram_target(t: jt.Var, weights: jt.Var, n_bins: int, uniform_share: float = 0.0) -> jt.Var:
    """q (R, K): :func:`interval_histogram` plus the weight the ray leaves, (1 − Σ w)⁺, spread evenly, then
    mixed with the uniform histogram: (1 − β)·q + β/K for β = ``uniform_share``; rows sum to 1
    (gradient-free)."""
    binned = interval_histogram(t, weights, n_bins)
    leftover = jt.maximum(1.0 - binned.sum(-1, keepdims=True), 0.0)
    target = binned + leftover / n_bins
    target = target / target.sum(-1, keepdims=True)
    return ((1.0 - uniform_share) * target + uniform_share / n_bins).stop_grad()


def histogram_loss(masses: jt.Var, t: jt.Var, weights: jt.Var, uniform_share: float = 0.0) -> jt.Var:
    """Cross-entropy of the head's bin masses against the binned weights: mean_r −Σ_b q_b log p_b (scalar).

    Args:
        masses: (R, K) the head's bin masses p (each > 0, rows sum to 1; gradient flows into these).
        t: (R, N) the samples' positions in [0, 1] (no gradient is taken).
        weights: (R, N) their compositing weights (no gradient is taken).
        uniform_share: β of :func:`histogram_target`.
    """
    target = histogram_target(t, weights, masses.shape[1], uniform_share)
    return -(target * jt.log(masses)).sum(-1).mean()
