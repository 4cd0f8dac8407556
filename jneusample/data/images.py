"""Reading images and downscaling them, with errors that name the file; keeping scene files in their folder."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import InputError


_SIXTEEN_BIT_GREY = ("I;16", "I;16L", "I;16B", "I;16N")
"""Pillow's modes of 16-bit greyscale images (16-bit PNGs open in one of these)."""


def read_image(path: Path) -> np.ndarray:
    """An image file as float32 in [0, 1], shape (H, W, C) with C = 3 or 4.

    8-bit images are divided by 255, 16-bit greyscale ones by 65535 (converting them to RGB in Pillow would
    clip every value at 255). 16-bit RGB(A) PNGs are opened by Pillow as 8-bit RGB(A) (it keeps the high byte),
    so they too come out at the right scale. An image whose header claims more pixels than Pillow's
    decompression-bomb limit is refused before it is decoded.
    """
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in _SIXTEEN_BIT_GREY or img.mode == "I":  # older Pillow opens 16-bit grey as 'I'
                grey = np.clip(np.asarray(img).astype(np.float32) / 65535.0, 0.0, 1.0)
                return np.repeat(grey[..., None], 3, axis=-1)
            if img.mode not in ("RGB", "RGBA"):
                img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
            array = np.asarray(img)
    except FileNotFoundError:
        raise InputError(f"{path}: image file is missing") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected an image file") from None
    except Image.DecompressionBombError as exc:
        raise InputError(f"{path}: image is too large to read safely ({exc})") from None
    except MemoryError:
        raise InputError(f"{path}: image is too large to read (out of memory)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: image file is unreadable ({exc})") from None
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    return array.astype(np.float32) / 255.0


def inside_scene(root: Path, relative: str | os.PathLike, source: str, allow_outside: bool = False) -> Path:
    """``root / relative``, refused when it leads outside ``root`` (``..``, an absolute path, or a symlink).

    The check runs on the resolved path before anything is opened, and its message is the same whether the
    outside file exists or not, so a scene file cannot be used to probe the machine's files. ``source`` names
    the scene file and entry in the message. ``allow_outside`` (``--allow-outside-paths``) skips it.
    """
    if "\0" in os.fspath(relative):  # os.stat would raise ValueError (a traceback), and no file name holds one
        raise InputError(f"{source}: path {os.fspath(relative)!r} holds a NUL byte, which no file name can")
    candidate = Path(root) / relative
    if allow_outside:
        return candidate
    real_root = os.path.realpath(root)
    real = os.path.realpath(candidate)
    if os.path.commonpath([real_root, real]) != real_root:
        raise InputError(
            f"{source}: path {os.fspath(relative)!r} leads outside the scene folder {root}; scene files must stay "
            "inside it (pass --allow-outside-paths to allow it)"
        )
    return candidate


def check_factor(shape: tuple[int, ...], factor: int, source: Path | str, quiet: bool = False) -> None:
    """Refuse a ``factor`` larger than the (H, W, …) image ``shape``; note (stderr) the crop when it does not
    divide the size: ``downscale`` drops the last ``H mod F`` rows and ``W mod F`` columns."""
    height, width = int(shape[0]), int(shape[1])
    if factor > height or factor > width:
        raise InputError(f"{source}: --factor {factor} is larger than the {width}x{height} images")
    if (height % factor or width % factor) and not quiet:
        print(f"note: {width}x{height} images do not divide by --factor {factor}: the last {width % factor} "
              f"column(s) and {height % factor} row(s) are cropped, images become {width // factor}x"
              f"{height // factor}", file=sys.stderr)


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
    if h == 0 or w == 0:
        raise InputError(f"--factor {factor} is larger than the {image.shape[1]}x{image.shape[0]} images")
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
