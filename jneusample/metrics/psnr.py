"""Peak signal-to-noise ratio, as the NeRF/NeuSample papers report it."""
from __future__ import annotations

import numpy as np


def mse(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean squared error over all pixels and channels, in float64.

    ``pred`` and ``gt`` have the same shape, typically (H, W, 3) with values in [0, 1].
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"shape mismatch: prediction {pred.shape} vs ground truth {gt.shape}")
    return float(np.mean((pred - gt) ** 2))


def psnr(pred: np.ndarray, gt: np.ndarray) -> float:
    """PSNR in dB for a data range of 1: ``-10 * log10(mse(pred, gt))``.

    ``pred`` is the float prediction, used **unclamped** (the protocol's choice); ``gt`` is in [0, 1];
    both have shape (H, W, 3). Identical images give ``inf``.
    """
    err = mse(pred, gt)
    if err == 0.0:
        return float("inf")
    return float(-10.0 * np.log10(err))
