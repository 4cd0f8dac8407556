"""The in-memory scene every loader produces and every later stage consumes.

Camera convention (NeRF / OpenGL): ``c2w`` maps camera coordinates to world coordinates; the camera looks down
its −z axis with +y up and +x right. Pixel ``(i, j)`` (column, row, integer indices) sees the direction
``((i − cx)/fx, −(j − cy)/fy, −1)`` in camera coordinates, i.e. ``cx, cy`` are in *pixel-index* units: the
Blender/NeRF convention ``cx = W/2`` means no half-pixel offset, exactly as the reference code does.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
from ..errors import InputError

ORTHONORMAL_TOLERANCE = 1e-2
"""Largest |RᵀR − I| entry accepted for a pose's rotation (poses are stored in float32 or rounded text)."""


def check_rotations(rotations: np.ndarray, where: Callable[[int], str]) -> None:
    """Refuse camera rotations that are singular or not orthonormal (they would give NaN or skewed rays).

    Args:
        rotations: (n, 3, 3) the rotation blocks of camera-to-world poses (any float dtype).
        where: index → the place to name in the error (e.g. ``"transforms_train.json: frame 3"``).
    Raises:
        InputError naming the first bad pose. One check shared by the Blender, transforms.json and LLFF loaders.
    """
    rotations = np.asarray(rotations, np.float64).reshape(-1, 3, 3)
    gram = np.einsum("nji,njk->nik", rotations, rotations)
    bad = np.nonzero(np.abs(gram - np.eye(3)).max(axis=(1, 2)) > ORTHONORMAL_TOLERANCE)[0]
    if bad.size:
        raise InputError(f"{where(int(bad[0]))}: the 3x3 rotation part of the pose is not orthonormal "
                         "(singular or scaled camera axes)")


@dataclass(frozen=True)
class Intrinsics:
    """A pinhole camera shared by all views of a scene."""

    width: int
    """Image width in pixels."""
    height: int
    """Image height in pixels."""
    fx: float
    """Horizontal focal length in pixels."""
    fy: float
    """Vertical focal length in pixels."""
    cx: float
    """Principal point column, in pixel-index units (the ray of pixel i is (i − cx)/fx)."""
    cy: float
    """Principal point row, in pixel-index units."""

    def downscaled(self, factor: int) -> "Intrinsics":
        """Intrinsics of the image after ``factor``×``factor`` area averaging.

        Output pixel k averages input pixels F·k … F·k+F−1, whose mean index is F·k + (F−1)/2; the ray through
        that footprint's centre in the original convention is (F·k + (F−1)/2 − cx)/fx = (k − cx')/(fx/F) with
        cx' = (cx − (F−1)/2)/F. At F = 1 this is the identity.
        """
        if factor == 1:
            return self
        shift = (factor - 1) / 2.0
        return Intrinsics(
            width=self.width // factor,
            height=self.height // factor,
            fx=self.fx / factor,
            fy=self.fy / factor,
            cx=(self.cx - shift) / factor,
            cy=(self.cy - shift) / factor,
        )


@dataclass
class Views:
    """The images and cameras of one split."""

    images: np.ndarray
    """(n, H, W, 3) float32 colours in [0, 1], already composited on the scene's background."""
    c2w: np.ndarray
    """(n, 3, 4) float32 camera-to-world matrices."""
    names: list[str] = field(default_factory=list)
    """One name per view (the image file's stem), used for output file names."""

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, indices) -> "Views":
        idx = np.asarray(indices, dtype=np.int64)
        names = [self.names[i] for i in idx] if self.names else []
        return Views(images=self.images[idx], c2w=self.c2w[idx], names=names)


@dataclass
class Scene:
    """A loaded scene: its views per split and the geometry its format implies."""

    name: str
    """Short name (the folder's name)."""
    format: str
    """'blender', 'llff' or 'transforms' (a single transforms.json)."""
    root: Path
    """Folder it was loaded from."""
    intrinsics: Intrinsics
    """Camera of every view, after downscaling."""
    splits: dict[str, Views]
    """'train', 'val', 'test' (what the format has)."""
    near: float
    """Near bound of every ray, in units of the ray direction (NDC: 0)."""
    far: float
    """Far bound of every ray (NDC: 1)."""
    white_background: bool = True
    """Composite renderings on white (Blender); False for real photographs."""
    ndc: bool = False
    """Rays are mapped to normalised device coordinates (forward-facing scenes)."""
    ndc_near_plane: float = 1.0
    """Depth of the plane NDC maps to z = −1 (NeRF uses 1 after the LLFF rescale)."""
    render_path: np.ndarray | None = None
    """(m, 3, 4) camera-to-world matrices of a video path (spherical for Blender, spiral for LLFF)."""
    factor: int = 1
    """Downscale factor applied to the images."""
    batch_across_views: bool = False
    """Training batches draw rays from all training views at once (LLFF's official schedule) instead of
    from one random view per step (Blender's)."""

    def split(self, name: str) -> Views:
        if name not in self.splits:
            raise InputError(
                f"{self.root}: scene has no split {name!r} (it has: {', '.join(sorted(self.splits))})"
            )
        return self.splits[name]

    def with_splits(self, **splits: Views) -> "Scene":
        return replace(self, splits={**self.splits, **splits})


def holdout_splits(views: Views, holdout: int, testskip: int, source) -> dict[str, Views]:
    """Every ``holdout``-th view held out as 'test' (and 'val', the same views, thinned by ``testskip``);
    the rest is 'train'. ``holdout`` ≤ 0 keeps everything for training. ``source`` names the file in errors."""
    n = len(views)
    if not holdout or holdout <= 0:
        return {"train": views}
    test_idx = np.arange(n)[::holdout]
    train_idx = np.setdiff1d(np.arange(n), test_idx)
    if train_idx.size == 0:
        raise InputError(f"{source}: {n} view(s) leave no training views with every {holdout}th held out")
    held = views.subset(test_idx[:: max(1, testskip)])
    return {"train": views.subset(train_idx), "val": held, "test": held}

