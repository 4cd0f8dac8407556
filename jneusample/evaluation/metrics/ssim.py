"""Structural similarity, computed exactly as docs/method.md §6 specifies (matches ``tf.image.ssim`` to ~1e-14)."""
from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

#: The scikit-image arguments that reproduce the papers' SSIM: 11x11 Gaussian window with sigma 1.5
#: (scikit-image truncates at 3.5 sigma -> 11 taps), population covariance, K1=0.01, K2=0.03 (its defaults),
#: data range 1, mean over the valid (unpadded) region and over channels.
SSIM_KWARGS = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0, channel_axis=-1)

#: The window is 11x11 and unpadded, so both image sides must be at least this large.
SSIM_MIN_SIZE = 11


def quantize_8bit(pred: np.ndarray) -> np.ndarray:
    """``round(clip(pred, 0, 1) * 255) / 255`` in float64: the prediction as an 8-bit PNG would hold it."""
    return np.round(np.clip(np.asarray(pred, dtype=np.float64), 0.0, 1.0) * 255.0) / 255.0


def ssim(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean SSIM of the 8-bit-quantised prediction against the ground truth.

    ``pred``, ``gt``: (H, W, 3) arrays, values in [0, 1] (``pred`` may stray outside; it is clipped by the
    quantisation). Per pixel and channel, with Gaussian-weighted local means mu, variances sigma^2 and
    covariance sigma_xy, and C1 = (0.01)^2, C2 = (0.03)^2::

        SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))

    averaged over the valid region and the channels. Identical images give 1.0. Both sides must be at
    least :data:`SSIM_MIN_SIZE` (11) pixels, else ``ValueError``.
    """
    gt = np.asarray(gt, dtype=np.float64)
    q = quantize_8bit(pred)
    if q.shape != gt.shape:
        raise ValueError(f"shape mismatch: prediction {q.shape} vs ground truth {gt.shape}")
    if min(q.shape[:2]) < SSIM_MIN_SIZE:
        raise ValueError(f"SSIM needs images of at least {SSIM_MIN_SIZE}x{SSIM_MIN_SIZE} pixels, got "
                         f"{q.shape[1]}x{q.shape[0]}")
    return float(structural_similarity(q, gt, **SSIM_KWARGS))
