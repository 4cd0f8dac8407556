"""Reading images and downscaling them, with errors that name the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import InputError


def read_image(path: Path) -> np.ndarray:
    """An image file as float32 in [0, 1], shape (H, W, C) with C = 3 or 4."""
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode not in ("RGB", "RGBA"):
                img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
            array = np.asarray(img)
    except FileNotFoundError:
        raise InputError(f"{path}: image file is missing") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: image file is unreadable ({exc})") from None
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    return array.astype(np.float32) / 255.0


def composite_on_background(rgba: np.ndarray, white: bool) -> np.ndarray:
    """(…, 4) RGBA → (…, 3) RGB on white (``rgb·a + (1 − a)``) or on black; RGB passes through."""
    if rgba.shape[-1] == 3:
        return rgba
    rgb, alpha = rgba[..., :3], rgba[..., 3:4]
    return rgb * alpha + (1.0 - alpha) if white else rgb * alpha


def downscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Area-average ``factor``×``factor`` blocks; a border that does not fill a block is cropped."""
    if factor == 1:
        return image
    h, w = image.shape[0] // factor, image.shape[1] // factor
    blocks = image[: h * factor, : w * factor].reshape(h, factor, w, factor, -1)
    return blocks.mean(axis=(1, 3), dtype=np.float64).astype(np.float32)


def check_same_size(shapes: dict[Path, tuple[int, ...]]) -> tuple[int, int]:
    """All images must share one (H, W); returns it, or names the first file that differs."""
    items = list(shapes.items())
    first_path, first = items[0]
    for path, shape in items[1:]:
        if shape[:2] != first[:2]:
            raise InputError(
                f"{path}: image is {shape[1]}x{shape[0]} but {first_path.name} is {first[1]}x{first[0]}; "
                "all images of a scene must have the same size"
            )
    return first[0], first[1]
