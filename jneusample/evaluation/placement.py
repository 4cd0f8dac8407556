"""Does the sample field place samples per ray? Its own placement against its mean placement, on held-out views.

A sample field that gives every ray the same samples is a lookup table, not NeuSample (issue 22). Two numbers tell
them apart, measured on the rays of a split:

* the **spread across rays**: for each sample index k, the standard deviation over rays of its position
  t_k ∈ [0, 1], averaged over k (0 for a fixed placement);
* the **own-vs-mean gap**: test PSNR with each ray's own samples minus the PSNR of the same model (same radiance
  field) when every ray gets the field's mean placement, mean over rays of t_k. What per-ray placement buys.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..data import load_scene
from ..data.rays import scene_rays
from ..errors import InputError
from .metrics.psnr import psnr_from_mse
from ..rendering import render_rays, render_settings
from ..platform.runs import LoadedRun, read_scene_info, scene_folder


def _render_views(model, scene, views, indices, settings, chunk_points) -> tuple[list[float], np.ndarray]:
    """PSNR per view and the unit positions t (rays of all views, N) of ``model`` on those views."""
    psnrs, positions = [], []
    for index in indices:
        out = render_rays(model, *scene_rays(scene, views.c2w[index]), settings, chunk_points, keep=("color", "z"))
        target = views.images[index].reshape(-1, 3)
        psnrs.append(psnr_from_mse(float(np.mean((out["color"] - target) ** 2)), max_db=120.0))
        positions.append((out["z"] - settings.near) / (settings.far - settings.near))
    return psnrs, np.concatenate(positions, axis=0)


def placement_study(run: LoadedRun, split: str = "test", skip: int = 8, data: str | None = None) -> dict[str, Any]:
    """Spread across rays and own-vs-mean gap of a NeuSample run on every ``skip``-th view of ``split``.

    Returns ``own_psnr``, ``mean_placement_psnr``, ``own_minus_mean_db`` (mean over views of each PSNR),
    ``spread_across_rays``, ``mean_t`` (N,), ``n_samples``, ``views``. A one-line InputError for a model
    without a sample field.
    """
    model, sampler = run.model, run.model.sampler
    if not hasattr(sampler, "fixed_placement"):
        raise InputError(f"{run.run_dir}: a {run.config.model.kind} model has no sample field to study")
    if skip < 1:
        raise InputError(f"--skip must be >= 1, got {skip}")
    info = read_scene_info(run.run_dir)
    scene = load_scene(scene_folder(run.run_dir, info, data), factor=info.factor, testskip=1,
                       allow_outside=info.allow_outside_paths)
    views = scene.split(split)
    indices = list(range(0, len(views), skip))
    settings = render_settings(scene, run.config, training=False)
    chunk = run.config.render.chunk_points
    own, t = _render_views(model, scene, views, indices, settings, chunk)
    mean_t = t.mean(axis=0)
    sampler.fixed_placement = mean_t
    try:
        mean, _ = _render_views(model, scene, views, indices, settings, chunk)
    finally:
        sampler.fixed_placement = None
    return {"split": split, "views": len(indices), "n_samples": int(t.shape[1]), "rays": int(t.shape[0]),
            "own_psnr": float(np.mean(own)), "mean_placement_psnr": float(np.mean(mean)),
            "own_minus_mean_db": float(np.mean(own) - np.mean(mean)),
            "spread_across_rays": float(t.std(axis=0).mean()),
            "mean_t": [round(float(v), 4) for v in mean_t]}
