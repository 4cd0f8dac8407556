"""Positional encoding γ(p) (NeRF's log-spaced frequencies, no π factor)."""
from __future__ import annotations

import functools

import numpy as np

from ..platform.backend import jt


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


def frequency_matrix(n_freqs: int, in_dims: int = 3) -> np.ndarray:
    """F (D, L·D) with column k·D + d equal to 2^k·e_d, so that (x @ F)[k·D + d] = 2^k·x_d exactly.

    Each column has a single power-of-two entry, so the matmul's sum is one exact product plus zeros.
    """
    matrix = np.zeros((in_dims, n_freqs * in_dims), np.float32)
    for k in range(n_freqs):
        matrix[np.arange(in_dims), k * in_dims + np.arange(in_dims)] = 2.0 ** k
    return matrix


@functools.lru_cache(maxsize=None)
def block_order(n_freqs: int, in_dims: int = 3) -> np.ndarray:
    """Where each column of :func:`positional_encoding_blocks` sits in :func:`positional_encoding`'s layout.

    Returns p (D·(1 + 2L),) int32 with ``blocks[..., i] == reference[..., p[i]]``; a layer trained on the
    reference layout with weight W (out, D·(1+2L)) gives the same result on the block layout with W[:, p].
    """
    d = np.arange(in_dims)
    order = [d]
    order += [in_dims + 2 * k * in_dims + d for k in range(n_freqs)]  # sin blocks
    order += [in_dims + (2 * k + 1) * in_dims + d for k in range(n_freqs)]  # cos blocks
    order = np.concatenate(order).astype(np.int32)
    order.flags.writeable = False  # cached: shared by every caller
    return order


@functools.lru_cache(maxsize=None)
def _frequencies(n_freqs: int, dims: int) -> np.ndarray:
    """:func:`frequency_matrix`, built once per (L, D) (cached like :func:`block_order`)."""
    matrix = frequency_matrix(n_freqs, dims)
    matrix.flags.writeable = False  # cached: shared by every caller
    return matrix


def positional_encoding_blocks(x: jt.Var, n_freqs: int) -> jt.Var:
    """γ(p) with its columns grouped by function: [p, sin(2⁰p), …, sin(2^{L−1}p), cos(2⁰p), …, cos(2^{L−1}p)].

    The same values as :func:`positional_encoding` in the column order :func:`block_order` describes, made
    for speed on the CPU: the arguments 2^k·p come from one exact matmul as a contiguous (P, L·D) array, so
    sin and cos run as long vectorised loops, and the one concatenation copies blocks of L·D columns (the
    reference layout interleaves blocks of D = 3, which Jittor copies and evaluates element by element,
    ~7x slower in total). Values agree with :func:`positional_encoding` to 1 ulp of sin/cos.

    Args:
        x: (P, D) coordinates.
        n_freqs: L.
    Returns:
        (P, D·(1 + 2L)).
    """
    if n_freqs == 0:
        return x
    frequencies = jt.array(_frequencies(n_freqs, int(x.shape[-1])))
    arguments = jt.matmul(x, frequencies)  # (P, L·D), materialised: sin/cos see a flat array
    return jt.concat([x, jt.sin(arguments), jt.cos(arguments)], dim=-1)


def attenuate_blocks(encoded: jt.Var, variances: jt.Var, n_freqs: int) -> jt.Var:
    """The expectation of :func:`positional_encoding_blocks` over a Gaussian around each point (mip-NeRF's idea).

    For x ~ N(μ, s²), E[sin(ωx)] = sin(ωμ)·exp(−ω²s²/2) and likewise for cos: every sin/cos column of frequency
    2^k along coordinate d is scaled by exp(−½·4^k·s_d²); the identity columns (the mean itself) are kept.
    Frequencies whose period is shorter than the spread fade out, so a sample that stands for a long interval
    of its ray sees a smooth field.

    Args:
        encoded: (P, D·(1 + 2L)) the blocks of μ (:func:`positional_encoding_blocks`).
        variances: (P, D) the variance of each coordinate (the diagonal of the covariance).
        n_freqs: L.
    Returns:
        (P, D·(1 + 2L)) in the same column order.
    """
    if n_freqs == 0:
        return encoded
    dims = int(variances.shape[-1])
    # (s² @ F²)[k·D + d] = 4^k·s_d² exactly: one power-of-two entry per column
    scale = jt.exp(-0.5 * jt.matmul(variances, jt.array(_frequencies(n_freqs, dims) ** 2)))  # (P, L·D)
    sines = encoded[:, dims:dims + n_freqs * dims]
    return jt.concat([encoded[:, :dims], sines * scale, encoded[:, dims + n_freqs * dims:] * scale], dim=-1)
