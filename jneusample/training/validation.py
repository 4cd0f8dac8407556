"""Validation during training: the PSNR of a few views on a bounded number of pixels, and the sample field's
health (the share of samples at the rays' ends)."""
from __future__ import annotations

import sys

import numpy as np

from ..config import Config
from ..data.rays import scene_rays
from ..data.scene import Scene
from ..evaluation.metrics.psnr import psnr_from_mse
from ..platform import backend, distributed
from ..platform.runs import append_metrics
from ..rendering import render_image, render_rays, render_settings
from ..samplers import collapse


def validation_views(count: int, available: int) -> list[int]:
    """``count`` view indices spread evenly over ``available`` views."""
    count = min(count, available)
    return sorted({int(round(i)) for i in np.linspace(0, available - 1, count)}) if count > 0 else []


def validation_pixels(height: int, width: int, max_rays: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows, cols) of at most ``max_rays`` pixels spread evenly over an image (a fixed lattice, the same at every
    validation), or None for every pixel (``max_rays`` 0, or an image that small)."""
    if max_rays <= 0 or height * width <= max_rays:
        return None
    flat = np.linspace(0, height * width - 1, max_rays).round().astype(np.int64)
    return flat // width, flat % width


def validate(model, scene: Scene, config: Config) -> dict[str, float]:
    """Mean PSNR over a few validation views (the val split, else test), on at most ``train.val_rays`` pixels
    of each (all of them when 0), so that validating a large image costs a bounded share of a time budget.

    Also ``val_samples_at_ends``: the share of the rendered samples that lie within 1e-3 of the ray's length of
    near or far (:func:`~jneusample.samplers.collapse.samples_at_ends`). A sample field whose sigmoid outputs saturated
    puts its samples there and no longer learns (docs/benchmarks.md, "Equal steps on all three scenes"); a healthy
    field keeps this near 0.

    Under MPI the views are shared out among the ranks and the PSNRs gathered (collective: every rank calls it).
    """
    split = "val" if "val" in scene.splits else "test"
    views = scene.split(split)
    settings = render_settings(scene, config, training=False)
    psnrs, at_ends = [], []
    height, width = views.images.shape[1:3]
    pixels = validation_pixels(height, width, config.train.val_rays)
    for index in distributed.shard(validation_views(config.train.val_views, len(views))):
        if pixels is None:
            out = render_image(model, scene, views.c2w[index], settings, config.render.chunk_points,
                               keep=("color", "z"))
            target = views.images[index]
        else:
            rows, cols = pixels
            rays = scene_rays(scene, views.c2w[index], cols, rows)
            out = render_rays(model, *rays, settings, config.render.chunk_points, keep=("color", "z"))
            target = views.images[index][rows, cols]
        psnrs.append(psnr_from_mse(float(np.mean((out["color"] - target) ** 2)), max_db=120.0))
        at_ends.append(collapse.samples_at_ends(out["z"], settings.near, settings.far))
    psnrs = sum(distributed.gather_objects(psnrs), [])
    at_ends = sum(distributed.gather_objects(at_ends), [])
    return {"val_psnr": float(np.mean(psnrs)), "val_views": len(psnrs), "val_split": split,
            "val_samples_at_ends": float(np.mean(at_ends))}


def validation_record(model, scene: Scene, config: Config, step: int, run_dir, elapsed: float) -> float:
    """Validate, log ``{"step", "val_psnr", ..., "elapsed_s"}`` (training seconds of this invocation)."""
    record = validate(model, scene, config)
    if backend.rank() == 0:
        append_metrics(run_dir, {"step": step, **record, "elapsed_s": elapsed})
        collapsed = record["val_samples_at_ends"] > collapse.SAMPLES_AT_ENDS_WARNING
        if collapsed and not config.train.reset_collapsed_sample_field:
            print(f"warning: step {step}: {record['val_samples_at_ends']:.0%} of the validation samples lie at the "
                  "ray's near or far end: the sample field has collapsed and will not recover; restart with "
                  "train.reset_collapsed_sample_field=true or a lower train.sample_field_lr_scale "
                  "(docs/benchmarks.md)", file=sys.stderr, flush=True)
    return record["val_psnr"]


class Validator:
    """When and how the trainer validates: every ``train.validate_every`` steps before the last, and at the end
    of a complete run; each PSNR goes to ``val_psnr_at`` (the checkpoint of that step records it)."""

    def __init__(self, model, scene: Scene, config: Config, run_dir, clock, val_psnr_at: dict[int, float]):
        self.model, self.scene, self.config, self.run_dir = model, scene, config, run_dir
        self.clock, self.val_psnr_at = clock, val_psnr_at
        self.every, self.steps = config.train.validate_every, config.train.steps

    def due(self, step: int) -> bool:
        return bool(self.every) and step % self.every == 0 and step < self.steps

    def __call__(self, step: int) -> float:
        """Validate at ``step`` (collective under MPI) and log it."""
        psnr = self.val_psnr_at[step] = validation_record(self.model, self.scene, self.config, step, self.run_dir,
                                                          self.clock.seconds())
        return psnr

    def at_end(self, step: int, start_step: int, start_val_psnr: float | None) -> float | None:
        """The validation of a complete run (None without validation). A complete run resumed makes no step: its
        last checkpoint validated this step already, so nothing is measured or logged again."""
        if not self.every:
            return None
        if step == start_step and start_val_psnr is not None:
            return start_val_psnr
        return self(step)
