"""Peak signal-to-noise ratio, as the NeRF/NeuSample papers report it: the project's one PSNR formula.

Evaluation uses :func:`psnr` on images; the training log and validation (``train.py``) turn a mean squared
error they already have into dB with :func:`psnr_from_mse`.
"""
from __future__ import annotations

import math

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


def psnr_from_mse(mse_value: float, max_db: float = math.inf) -> float:
    """PSNR in dB for a data range of 1 from a mean squared error: ``min(-10 * log10(mse), max_db)``.

    ``mse_value`` 0 gives ``max_db`` (``inf`` by default). Logs that must stay plain JSON pass a finite cap
    (training logs use 120 dB, i.e. an MSE of 1e-12).
    """
    if mse_value <= 0.0:
        return float(max_db)
    return float(min(-10.0 * math.log10(mse_value), max_db))


def psnr(pred: np.ndarray, gt: np.ndarray) -> float:
    """PSNR in dB for a data range of 1: ``-10 * log10(mse(pred, gt))``.

    ``pred`` is the float prediction, used **unclamped** (the protocol's choice); ``gt`` is in [0, 1];
    both have shape (H, W, 3). Identical images give ``inf``.
    """
    return psnr_from_mse(mse(pred, gt))
