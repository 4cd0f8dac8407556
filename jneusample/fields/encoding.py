"""Positional encoding γ(p) (NeRF's log-spaced frequencies, no π factor)."""
from __future__ import annotations

import numpy as np

from ..backend import jt


def encoded_dims(n_freqs: int, in_dims: int = 3) -> int:
    """Output width of :func:`positional_encoding`: the input plus a sin and a cos per frequency."""
    return in_dims * (1 + 2 * n_freqs)


def positional_encoding(x: jt.Var, n_freqs: int, scale: float = 1.0) -> jt.Var:
    """γ(p) = [p, sin(2⁰p), cos(2⁰p), sin(2¹p), cos(2¹p), …, sin(2^{L−1}p), cos(2^{L−1}p)] with p = x / scale.

    The input comes first and each frequency contributes its sin block then its cos block, matching the
    reference layout (so weights are interchangeable). Frequencies are 2^k, k = 0…L−1, without π.

    Args:
        x: (..., D) coordinates.
        n_freqs: L.
        scale: divisor applied to x first.
    Returns:
        (..., D·(1 + 2L)).
    """
    if scale != 1.0:
        x = x / scale
    if n_freqs == 0:
        return x
    freqs = jt.array((2.0 ** np.arange(n_freqs)).astype(np.float32))  # (L,)
    scaled = x.unsqueeze(-2) * freqs.reshape([n_freqs, 1])  # (..., L, D)
    sin_cos = jt.stack([jt.sin(scaled), jt.cos(scaled)], dim=-2)  # (..., L, 2, D)
    return jt.concat([x, sin_cos.reshape(list(x.shape[:-1]) + [2 * n_freqs * x.shape[-1]])], dim=-1)
