"""Volume rendering: pure functions from densities and colours at sorted distances to pixels.

Nothing here holds module state; models call :func:`composite`, and :func:`render_image` drives any model over
all pixels of a camera in bounded-memory chunks.

Shape letters (used across the package's docstrings):

* R: rays (a batch, a chunk, or H·W for an image); H, W: image height and width in pixels.
* N: sample distances (radiance-field queries) along one ray in one pass: NeuSample's N, NeRF's Nc coarse and
  Nc + Ni fine; ``points_per_ray`` counts every query of all passes. M: bins of NeRF's inverse-CDF PDF.
* P: points fed to a field at once (P = R·N); D: input dimension (3 for positions and directions);
  L: positional-encoding frequencies (γ(x) has D·(1 + 2L) entries). B: histogram bins (plots).

Units along a ray:

* z: distance along the *un-normalised* direction d (``Rays.directions``): the point is x = o + z·d, and an
  interval (z_{i+1} − z_i) becomes metric once multiplied by ‖d‖ (:func:`composite`). z lies in [near, far].
* t ∈ [0, 1]: the sample field's sorted outputs before they are mapped to z = near·(1 − t) + far·t (or linearly
  in disparity); plots also show z as t = (z − near)/(far − near).
* NDC (LLFF's forward-facing scenes): origins and directions are in normalised device coordinates, where
  near = 0 and far = 1, so z is NDC depth, not a world distance; the view directions given to the radiance
  field (``Rays.view_dirs``) stay world-space unit vectors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .platform import backend
from .platform.backend import jt
from .data.rays import scene_rays
from .errors import InputError


@dataclass(frozen=True)
class RenderSettings:
    """What compositing needs besides the network outputs (from the scene and the render config)."""

    near: float
    """Near bound of the rays."""
    far: float
    """Far bound of the rays."""
    white_background: bool
    """Composite on white (C ← C + (1 − acc))."""
    last_interval: float = 2e10
    """Length of the interval behind the last sample."""
    density_noise_std: float = 0.0
    """Std of the Gaussian noise on raw densities (training only)."""
    perturb: bool = False
    """Training: jitter sampling that has a random variant (NeRF's stratified and inverse-CDF samples)."""
    density_activation: str = "relu"
    """Raw density → σ: 'relu' (NeRF, the paper) or 'softplus' (softplus(raw − 1)); see :func:`activate_density`."""


def render_settings(scene, config, training: bool) -> RenderSettings:
    """Compositing settings of a run: geometry from the scene, noise (training only) and the density activation
    from the config."""
    return RenderSettings(
        near=scene.near, far=scene.far, white_background=scene.white_background,
        last_interval=config.render.last_interval,
        density_noise_std=config.render.density_noise_std if training else 0.0, perturb=training,
        density_activation=config.model.density_activation,
    )


@dataclass
class Rays:
    """A batch of R rays on the device."""

    origins: jt.Var
    """(R, 3) origins (NDC for forward-facing scenes)."""
    directions: jt.Var
    """(R, 3) un-normalised directions: distances along them are the z of the samples."""
    view_dirs: jt.Var
    """(R, 3) unit world-space view directions for the radiance field's view encoding."""

    @staticmethod
    def from_numpy(origins: np.ndarray, directions: np.ndarray, view_dirs: np.ndarray) -> "Rays":
        return Rays(jt.array(origins), jt.array(directions), jt.array(view_dirs))

    def __len__(self) -> int:
        return int(self.origins.shape[0])


MAX_SAMPLES_PER_RAY = 4096
"""The most points per ray a model may render with (``eval/render/plot-samples --samples N``): compositing's
exclusive sum is an N×N matrix (:func:`exclusive_cumsum`), 64 MiB of float32 at 4096 and 37 GiB at 100,000."""


def check_samples_per_ray(n: int) -> int:
    """``n`` as an int when a model can render with it (2 ≤ n ≤ :data:`MAX_SAMPLES_PER_RAY`); a one-line
    InputError otherwise."""
    if int(n) < 2:
        raise InputError(f"samples per ray must be at least 2, got {n}")
    if int(n) > MAX_SAMPLES_PER_RAY:
        raise InputError(f"samples per ray must be at most {MAX_SAMPLES_PER_RAY} (compositing holds an N×N "
                         f"matrix), got {n}")
    return int(n)

_EXCLUSIVE_SUM = {}


def exclusive_cumsum(x: jt.Var) -> jt.Var:
    """Σ_{j<i} x_j along the last axis, (R, N) → (R, N), as a matmul with a strictly upper-triangular ones matrix.

    For N ≤ a few hundred the extra FLOPs (R·N²) are negligible next to the MLP, and a matmul is one fused,
    deterministic kernel on CPU and GPU alike (Jittor's CPU cumsum goes through a NumPy callback).
    """
    n = x.shape[-1]
    if n not in _EXCLUSIVE_SUM:
        _EXCLUSIVE_SUM[n] = np.triu(np.ones((n, n), np.float32), k=1)
    return jt.matmul(x, jt.array(_EXCLUSIVE_SUM[n]))


def render_weights(sigma_delta: jt.Var) -> jt.Var:
    """Compositing weights w_i = α_i·T_i from optical thickness τ_i = σ_i·δ_i, (R, N) → (R, N).

    α_i = 1 − exp(−τ_i) and T_i = Π_{j<i}(1 − α_j) = exp(−Σ_{j<i} τ_j). This is NeRF's cumprod form without its
    1e-10 guard, which only mattered to keep a cumprod's gradient finite.
    """
    alpha = 1.0 - jt.exp(-sigma_delta)
    transmittance = jt.exp(-exclusive_cumsum(sigma_delta))
    return alpha * transmittance


def composite(density: jt.Var, color: jt.Var, z: jt.Var, directions: jt.Var, settings: RenderSettings,
              noise: jt.Var | None = None) -> dict[str, jt.Var]:
    """Alpha-composite samples along rays (METHOD.md §2.3).

    Args:
        density: (R, N) raw densities (ReLU is applied here, after the optional noise).
        color: (R, N, 3) colours.
        z: (R, N) sorted sample distances along the un-normalised ``directions``.
        directions: (R, 3) ray directions; intervals are scaled by their norm to become metric.
        settings: near/far, background, last interval.
        noise: (R, N) density noise to add before the ReLU, or None.
    Returns:
        dict with ``color`` (R, 3), ``depth`` (R,), ``acc`` (R,), ``weights`` (R, N).
        δ_i = (z_{i+1} − z_i)·‖d‖ with δ_N = last_interval·‖d‖; colour C = Σ w_i c_i (+ 1 − Σ w_i on white).
    """
    rays = z.shape[0]
    gaps = z[:, 1:] - z[:, :-1]
    deltas = jt.concat([gaps, jt.full((rays, 1), settings.last_interval, dtype=z.dtype)], dim=1)
    deltas = deltas * jt.sqrt((directions * directions).sum(-1, keepdims=True))
    if noise is not None:
        density = density + noise
    weights = render_weights(activate_density(density, settings.density_activation) * deltas)
    acc = weights.sum(-1)
    rgb = (weights.unsqueeze(-1) * color).sum(1)
    if settings.white_background:
        rgb = rgb + (1.0 - acc).unsqueeze(-1)
    return {"color": rgb, "depth": (weights * z).sum(-1), "acc": acc, "weights": weights}


def query_and_composite(field, rays: Rays, z: jt.Var, settings: RenderSettings) -> dict[str, jt.Var]:
    """Query a radiance ``field`` at distances z (R, N) along ``rays`` and composite (+ training density noise).

    Points are x = o + z·d with the un-normalised d. Returns :func:`composite`'s dict plus ``z``.
    """
    points = rays.origins.unsqueeze(1) + rays.directions.unsqueeze(1) * z.unsqueeze(-1)  # (R, N, 3)
    variances = interval_variances(z, rays.directions) if field.interval_encoding else None
    density, color = field(points, rays.view_dirs, variances)
    noise = None
    if settings.density_noise_std > 0:
        noise = jt.randn(density.shape) * settings.density_noise_std
    outputs = composite(density, color, z, rays.directions, settings, noise)
    outputs["z"] = z
    return outputs


def interval_variances(z: jt.Var, directions: jt.Var) -> jt.Var:
    """(R, N, 3) per-coordinate variances of the points, each spread evenly over its share of the ray.

    Sample i stands for the interval between the midpoints to its neighbours, δ_i = (z_{i+1} − z_{i−1})/2
    (at the ends the one neighbour's gap, z_1 − z_0 and z_{N−1} − z_{N−2}); a uniform spread over a length δ
    along d has the covariance d dᵀ·δ²/12, whose diagonal d_c²·δ²/12 is returned (mip-NeRF's diagonal
    approximation, along the ray only: no cone). δ is gradient-free: the sample field learns from where the
    points are, as without it. One sample per ray (N = 1) stands for nothing: variance 0.

    Args:
        z: (R, N) sorted distances along the un-normalised ``directions``.
        directions: (R, 3) the rays' d.
    """
    if z.shape[1] < 2:
        return jt.zeros(list(z.shape) + [3])
    z = z.detach()
    gaps = z[:, 1:] - z[:, :-1]  # (R, N − 1)
    spans = 0.5 * (jt.concat([gaps[:, :1], gaps], 1) + jt.concat([gaps, gaps[:, -1:]], 1))  # (R, N)
    return (spans * spans / 12.0).unsqueeze(-1) * (directions * directions).unsqueeze(1)


def activate_density(raw: jt.Var, activation: str = "relu") -> jt.Var:
    """σ ≥ 0 from raw densities: 'relu' max(raw, 0), or 'softplus' log(1 + exp(raw − 1)).

    The shift by −1 (mip-NeRF's choice) starts an untrained field nearly transparent (σ ≈ 0.3 at raw ≈ 0);
    unlike ReLU, softplus has a gradient everywhere, so densities pushed below zero can come back.
    """
    if activation == "softplus":
        shifted = raw - 1.0
        # log(1 + e^x) = max(x, 0) + log(1 + e^−|x|): no overflow for large x
        return jt.maximum(shifted, 0.0) + jt.log(1.0 + jt.exp(-jt.abs(shifted)))
    return jt.maximum(raw, 0.0)


def chunk_rays_of(model, chunk_points: int) -> int:
    """Rays per chunk: as many as keep the chunk at about ``chunk_points`` MLP points (at least one)."""
    return max(1, chunk_points // max(1, model.points_per_ray))


def render_rays(model, origins: np.ndarray, directions: np.ndarray, view_dirs: np.ndarray,
                settings: RenderSettings, chunk_points: int,
                keep: tuple[str, ...] = ("color", "depth", "acc")) -> dict[str, np.ndarray]:
    """Render R rays (NumPy (R, 3) arrays as :func:`scene_rays` returns them) in chunks of about
    ``chunk_points`` MLP points; returns the outputs named in ``keep`` as NumPy arrays with R rows.

    Chunks start at multiples of :func:`chunk_rays_of` from the first ray given. Memory is bounded by the
    chunk size: the rays go to the device once, each chunk's outputs come back as soon as it is computed.
    """
    count = int(origins.shape[0])
    chunk_points = backend.render_chunk_points(chunk_points)  # CUDA: sized from free device memory
    chunk_rays = chunk_rays_of(model, chunk_points)
    parts: dict[str, list[np.ndarray]] = {key: [] for key in keep}
    with jt.no_grad():
        all_rays = Rays.from_numpy(origins, directions, view_dirs)  # one host→device copy, not one per chunk
        for start in range(0, count, chunk_rays):
            stop = min(start + chunk_rays, count)
            rays = Rays(all_rays.origins[start:stop], all_rays.directions[start:stop], all_rays.view_dirs[start:stop])
            outputs = model(rays, settings)
            jt.sync([outputs[key] for key in keep])  # one execution per chunk, not one per output
            for key in keep:
                parts[key].append(outputs[key].numpy())
    return {key: np.concatenate(parts[key], axis=0) for key in keep}


def render_image(model, scene, c2w: np.ndarray, settings: RenderSettings, chunk_points: int,
                 keep: tuple[str, ...] = ("color", "depth", "acc")) -> dict[str, np.ndarray]:
    """Render every pixel of one camera with ``model`` in chunks of about ``chunk_points`` MLP points.

    Returns numpy arrays: ``color`` (H, W, 3), ``depth`` (H, W), ``acc`` (H, W) (those named in ``keep``).
    Memory is bounded by the chunk size, not the image size.
    """
    h, w = scene.intrinsics.height, scene.intrinsics.width
    origins, directions, view_dirs = scene_rays(scene, c2w)
    out = render_rays(model, origins, directions, view_dirs, settings, chunk_points, keep)
    return {key: array.reshape((h, w) + array.shape[1:]) for key, array in out.items()}
