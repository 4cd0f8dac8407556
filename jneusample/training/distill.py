"""Distilled sample field extraction: the parent's compositing weights tell the new head where to sample.

Plain extraction (docs/method.md §5) gives the fresh width → N_e head nothing but the photometric loss, whose
gradient with respect to a sample position is weak and local, from a start that spreads the samples evenly
along every ray. Here the parent (the trained N-sample model, frozen) says where its rays' colour comes from:
its compositing weights w_1..w_N at its sorted distances z_1..z_N. Two uses (``extract.head_init``,
``extract.distill``), both in units of t = (z − near)/(far − near) ∈ [0, 1]:

* **Start** (:func:`pooled_start`): the new head's bias puts the child's samples, on every ray alike, at the
  mid-quantiles of the parent's weight mass pooled over a draw of training rays, instead of evenly along the ray
  (the port's start is this rule applied to a uniform density). It is the best start a ray-independent sampler
  can have, and a sampler is ray-independent at the start: the fresh head's weights are small.
* **Coverage loss** (:func:`coverage_loss`): every unit of the parent's weight pulls the child sample nearest
  to it, L = mean_r Σ_{i<N} w_{r,i} · min_{k<N_e} |z_{r,i} − ẑ_{r,k}| / (far − near), the error of quantising
  the parent's weight mass by the child's samples (a k-medians objective). A ray-dependent sampler can reach
  each ray's own optimum; a ray-independent one (a sample field whose trunk gives no ray information) settles on
  positions that cover the pooled mass. An L1 loss towards each ray's own quantiles would instead pull such a
  sampler onto the *mean* surface depth (the 1-D Wasserstein barycentre), which is worse than spreading evenly.

Both keep the last sample apart: behind the last sample the interval is "infinite" (``render.last_interval``),
so whatever density the field has there absorbs the rest of the ray. The parent's field has learnt the ray's
background at the parent's last sample, so the child's last sample stays there (start: the mean t_N; loss:
|ẑ_{N_e} − z_N| per ray), and the other N_e − 1 cover the weights w_1..w_{N−1} in front of it.

Shapes: R rays, N parent samples, N_e child samples, G grid cells (``jneusample.rendering``). The parent renders
with the evaluation settings (no density noise), so the loss is a deterministic function of the rays and a
resumed extraction computes exactly what the uninterrupted one did.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..platform.backend import jt
from ..samplers.distances import inverse_cdf
from ..losses import mse
from ..models.model import Model
from ..rendering import Rays, RenderSettings

POOL_GRID = 4096
"""Cells of the [0, 1] grid on which :func:`pooled_quantiles` accumulates the pooled weight density."""


def pooled_quantiles(t: np.ndarray, weights: np.ndarray, levels: np.ndarray, grid: int = POOL_GRID) -> np.ndarray:
    """Quantiles of the weight mass of all rays together: F⁻¹(levels) for the pooled CDF F on [0, 1].

    Sample i of ray r owns the bin between the midpoints to its neighbours (the first from 0, the last to 1), and
    its weight w_{r,i} is spread evenly over that bin (a bin narrower than a grid cell counts as one cell). The
    pooled density is accumulated on ``grid`` cells (its slope changes at the bin ends, rounded to the grid: an
    error below one cell), and :func:`jneusample.samplers.distances.inverse_cdf` inverts it.

    Args:
        t: (R, M) sorted sample positions in [0, 1].
        weights: (R, M) their weights (w ≥ 0; rays with more weight count more).
        levels: (L,) ascending levels in [0, 1].
        grid: G.
    Returns:
        (L,) float64 positions in [0, 1], ascending.
    """
    rays = t.shape[0]
    edges = np.concatenate([np.zeros((rays, 1)), 0.5 * (t[:, 1:] + t[:, :-1]), np.ones((rays, 1))], axis=1)
    cell = 1.0 / grid
    start = np.clip(np.round(edges[:, :-1] / cell).astype(np.int64), 0, grid - 1).ravel()
    stop = np.maximum(np.clip(np.round(edges[:, 1:] / cell).astype(np.int64), 0, grid).ravel(), start + 1)
    density = weights.astype(np.float64).ravel() / (stop - start)  # per cell of the bin
    steps = np.zeros(grid + 1)
    np.add.at(steps, start, density)
    np.add.at(steps, stop, -density)
    cell_mass = np.cumsum(steps)[:grid].clip(min=0.0)
    grid_edges = jt.array(np.linspace(0.0, 1.0, grid + 1, dtype=np.float32)).reshape([1, grid + 1])
    # mean 1 per cell, so that inverse_cdf's floor of 1e-5 per bin adds a 1e-5 share of uniform mass
    mass = jt.array((cell_mass * grid / max(cell_mass.sum(), 1e-12)).astype(np.float32)).reshape([1, grid])
    u = jt.array(np.asarray(levels, np.float32)).reshape([1, len(levels)])
    return inverse_cdf(grid_edges, mass, u).numpy()[0].astype(np.float64)


def pooled_start(t: np.ndarray, weights: np.ndarray, count: int) -> np.ndarray:
    """Where a ray-independent sampler of ``count`` samples starts: the mid-quantiles (k + ½)/(N_e − 1) of the
    pooled weights in front of the parent's last sample, then the parent's mean last position.

    Args:
        t: (R, N) the parent's sorted positions in [0, 1] on R rays.
        weights: (R, N) its compositing weights.
        count: N_e ≥ 2.
    Returns:
        (N_e,) float64 positions in [0, 1], ascending.
    """
    levels = (np.arange(count - 1, dtype=np.float64) + 0.5) / (count - 1)
    front = pooled_quantiles(t[:, :-1], weights[:, :-1], levels)
    return np.append(front, max(float(t[:, -1].mean()), float(front[-1])))


def coverage_loss(parent_z: jt.Var, parent_weights: jt.Var, z: jt.Var, near: float, far: float) -> jt.Var:
    """How badly the child's samples cover the parent's weights, in units of the ray length (scalar).

    mean_r [Σ_{i<N} w_{r,i} · min_{k<N_e} |z^p_{r,i} − ẑ_{r,k}| + |ẑ_{r,N_e} − z^p_{r,N}|] / (far − near): every
    weight in front of the parent's last sample pulls the nearest of the child's first N_e − 1 samples (with
    force w), and the child's last sample is pulled to the parent's last (the module docstring says why).

    Args:
        parent_z: (R, N) the parent's sorted distances (no gradient is taken).
        parent_weights: (R, N) its compositing weights (no gradient is taken).
        z: (R, N_e) the child's sorted distances (the gradient flows into these).
        near, far: ray bounds.
    """
    parent_z, parent_weights = parent_z.stop_grad(), parent_weights.stop_grad()
    gaps = jt.abs(parent_z[:, :-1].unsqueeze(2) - z[:, :-1].unsqueeze(1))  # (R, N − 1, N_e − 1)
    cover = (parent_weights[:, :-1] * gaps.min(2)).sum(-1)
    last = jt.abs(z[:, -1] - parent_z[:, -1])
    return (cover + last).mean() / (far - near)


@dataclass
class CoverageDistillation:
    """The extra loss term of a distilled extraction, called by the trainer with each step's rays and outputs:
    λ_q · :func:`coverage_loss` of the child's ``z`` against the parent's rendering of the same rays, plus
    λ_c · MSE(child colour, parent colour) when λ_c > 0."""

    parent: Model
    """The trained N-sample model, frozen (its parameters are in no optimizer group)."""
    settings: RenderSettings
    """How the parent renders: the scene's geometry, no density noise (deterministic targets)."""
    weight: float
    """λ_q (``extract.distill_weight``)."""
    color_weight: float = 0.0
    """λ_c (``extract.distill_color_weight``); 0 leaves the parent's colour out."""

    def __call__(self, rays: Rays, outputs: dict[str, jt.Var]) -> jt.Var:
        with jt.no_grad():
            parent = self.parent(rays, self.settings)
        loss = self.weight * coverage_loss(parent["z"], parent["weights"], outputs["z"], self.settings.near,
                                           self.settings.far)
        if self.color_weight > 0:
            loss = loss + self.color_weight * mse(outputs["color"], parent["color"].stop_grad())
        return loss
