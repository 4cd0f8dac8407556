"""Training batches: which rays each step sees (one shuffled view per step, or rays across all views)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .rays import scene_rays
from .scene import Scene


@dataclass
class Batch:
    """Rays and target colours of one step (NumPy, float32)."""

    origins: np.ndarray
    """(R, 3)"""
    directions: np.ndarray
    """(R, 3)"""
    view_dirs: np.ndarray
    """(R, 3)"""
    target: np.ndarray
    """(R, 3) ground-truth colours."""


class RayBatcher:
    """Draws ``rays_per_step`` training rays per step, reproducibly from its own RNG.

    Blender-style scenes: one view per step, taken from a shuffled order of all views (a new shuffle after
    each pass), pixels drawn without replacement, from the central ``precrop_fraction`` box during the first
    ``precrop_steps`` steps. With ``across_views`` (always for LLFF scenes, ``train.batch_across_views`` for the
    others): rays drawn uniformly from all pixels of all views (of their central crop during precrop). The whole state is :meth:`state_dict`, so a resumed run continues with the same batches.
    """

    def __init__(self, scene: Scene, rays_per_step: int, precrop_fraction: float, precrop_steps: int,
                 seed: int, stream: int = 0, across_views: bool = False):
        self.scene = scene
        self.across_views = across_views or scene.batch_across_views
        self.views = scene.split("train")
        self.rays_per_step = rays_per_step
        self.precrop_fraction = precrop_fraction
        self.precrop_steps = precrop_steps
        self.rng = np.random.Generator(np.random.PCG64([seed, stream]))
        self.order = np.zeros(0, dtype=np.int64)
        self.position = 0

    def _next_view(self) -> int:
        if self.position >= len(self.order):
            self.order = self.rng.permutation(len(self.views))
            self.position = 0
        view = int(self.order[self.position])
        self.position += 1
        return view

    def _window(self, height: int, width: int, step: int) -> tuple[int, int, int, int]:
        """(first row, first column, rows, columns) of the pixels the step may draw from."""
        if step < self.precrop_steps and self.precrop_fraction < 1.0:
            rows = max(1, int(height * self.precrop_fraction))
            cols = max(1, int(width * self.precrop_fraction))
            return (height - rows) // 2, (width - cols) // 2, rows, cols
        return 0, 0, height, width

    def _pixels(self, height: int, width: int, step: int):
        """Row and column indices of the step's pixels in one view (without replacement)."""
        row0, col0, rows, cols = self._window(height, width, step)
        count = rows * cols
        flat = self.rng.choice(count, size=self.rays_per_step, replace=count < self.rays_per_step)
        return row0 + flat // cols, col0 + flat % cols

    def sample(self, step: int) -> Batch:
        views = self.views
        height, width = views.images.shape[1:3]
        if self.across_views:
            # forward-facing (LLFF) scenes never crop, as in the official code: the whole frame is the scene
            row0, col0, n_rows, n_cols = ((0, 0, height, width) if self.scene.batch_across_views
                                          else self._window(height, width, step))
            flat = self.rng.integers(0, len(views) * n_rows * n_cols, size=self.rays_per_step)
            view_idx, pixel = flat // (n_rows * n_cols), flat % (n_rows * n_cols)
            rows, cols = row0 + pixel // n_cols, col0 + pixel % n_cols
            origins, directions, view_dirs = scene_rays(self.scene, views.c2w[view_idx], cols, rows)
            target = views.images[view_idx, rows, cols]
        else:
            view = self._next_view()
            rows, cols = self._pixels(height, width, step)
            origins, directions, view_dirs = scene_rays(self.scene, views.c2w[view], cols, rows)
            target = views.images[view, rows, cols]
        return Batch(origins, directions, view_dirs, np.ascontiguousarray(target, dtype=np.float32))

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "order": self.order.copy(), "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.order = np.asarray(state["order"], dtype=np.int64)
        self.position = int(state["position"])
