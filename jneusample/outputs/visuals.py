"""Images for people to look at: 8-bit colour, grey depth and error maps, PNG bytes.

Evaluation (``RUN/eval_<split>/*_rgb|depth|error.png``), the video renderer and the PNG frames it can write all
encode their pictures here, so that one depth or error image means the same thing everywhere. Reading images
(the datasets) is :mod:`jneusample.data.images`.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

ERROR_GAIN = 4.0
"""Error maps show 4·|prediction − target| (mean over RGB): an error of 0.25 is already white, so the small
errors of a trained model stay visible."""


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (any shape) → uint8 in [0, 255], clipped and rounded to nearest."""
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def depth_to_image(depth: np.ndarray, acc: np.ndarray, near: float, far: float) -> np.ndarray:
    """Depth map → 8-bit grey (near = white, far = black; empty pixels black).

    Args:
        depth: (H, W) expected depth Σ w_i z_i as the renderer returns it (not divided by ``acc``), in the
            units of ``near``/``far`` (scene distances, or NDC t for forward-facing scenes).
        acc: (H, W) accumulated opacity Σ w_i; pixels with acc ≤ 0.5 count as empty.
        near, far: the scene's bounds, mapped to white and black.
    Returns:
        (H, W) uint8.
    """
    normalised = 1.0 - np.clip((depth / np.maximum(acc, 1e-6) - near) / max(far - near, 1e-6), 0.0, 1.0)
    return to_uint8(normalised * (acc > 0.5))


def error_to_image(prediction: np.ndarray, target: np.ndarray, gain: float = ERROR_GAIN) -> np.ndarray:
    """(H, W) uint8 map of ``gain``·|prediction − target| averaged over the channels of (H, W, 3) images."""
    return to_uint8(np.abs(prediction - target).mean(-1) * gain)


def grey_to_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W) → (H, W, 3) by repeating the channel (video encoders take RGB frames)."""
    return np.repeat(image[..., None], 3, axis=-1)


def png_bytes(array: np.ndarray) -> bytes:
    """PNG file content of an (H, W) or (H, W, 3) uint8 array (written to disk atomically by the caller)."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def comparison_strip(rows: list[list[np.ndarray]], gap: int = 2) -> np.ndarray:
    """Tile images into one picture: ``rows[r][c]`` (H, W, 3) uint8, all the same size, on white, ``gap`` pixels
    apart. The demo writes ground truth above its renders of the same views (README's first picture)."""
    height, width = rows[0][0].shape[:2]
    columns = max(len(row) for row in rows)
    sheet = np.full((len(rows) * (height + gap) - gap, columns * (width + gap) - gap, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            top, left = r * (height + gap), c * (width + gap)
            sheet[top:top + height, left:left + width] = image
    return sheet


__all__ = ["ERROR_GAIN", "comparison_strip", "depth_to_image", "error_to_image", "grey_to_rgb", "png_bytes",
           "to_uint8"]
