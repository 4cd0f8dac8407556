"""Comparing two sets of camera poses of the same images: a similarity alignment and the errors left after it.

Two structure-from-motion runs on the same photos give the same cameras up to a similarity (scale, rotation,
translation of the whole world): COLMAP fixes none of them. To compare ``jneusample process``'s cameras with
reference poses (LLFF's ``poses_bounds.npy``), :func:`similarity_umeyama` finds the similarity that maps one set
of camera centres onto the other in the least-squares sense (Umeyama 1991, closed form from an SVD), and
:func:`pose_errors` measures what is left: camera-centre distances relative to the spread of the reference
centres, and the angles between viewing directions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Similarity:
    """``x ↦ scale · rotation @ x + translation`` (a proper rotation: det = +1)."""

    scale: float
    rotation: np.ndarray
    """(3, 3) float64."""
    translation: np.ndarray
    """(3,) float64."""

    def apply(self, points: np.ndarray) -> np.ndarray:
        """(n, 3) points → (n, 3) mapped points."""
        return self.scale * np.asarray(points, np.float64) @ self.rotation.T + self.translation

    def rotate(self, directions: np.ndarray) -> np.ndarray:
        """(n, 3) directions → (n, 3) rotated directions (scale and translation do not act on directions)."""
        return np.asarray(directions, np.float64) @ self.rotation.T


def similarity_umeyama(source: np.ndarray, target: np.ndarray) -> Similarity:
    """The similarity minimising Σ‖target_i − (s·R·source_i + t)‖² over s > 0, rotations R and t.

    Args:
        source: (n, 3) points, n ≥ 3 and not all on one line.
        target: (n, 3) corresponding points.
    Returns:
        the :class:`Similarity`. Umeyama's closed form: with centred point sets and their covariance
        Σ = Yᵀ X / n = U D Vᵀ, R = U S Vᵀ (S = diag(1, 1, det(U Vᵀ)) keeps R a rotation rather than a
        reflection), s = tr(D S) / σ²_source, t = mean_target − s R mean_source.
    Raises:
        ValueError: for mismatched shapes, fewer than 3 points, or degenerate (collinear, coincident) source
        points, where the rotation is not determined.
    """
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    if source.shape != target.shape or source.ndim != 2 or source.shape[1] != 3:
        raise ValueError(f"need two (n, 3) arrays of the same shape, got {source.shape} and {target.shape}")
    n = source.shape[0]
    if n < 3:
        raise ValueError(f"need at least 3 point pairs, got {n}")
    mean_source, mean_target = source.mean(axis=0), target.mean(axis=0)
    x, y = source - mean_source, target - mean_target
    variance_source = float((x * x).sum() / n)
    covariance = y.T @ x / n
    u, d, vt = np.linalg.svd(covariance)
    # Rank < 2 (collinear or coincident points) leaves a rotation about the line free.
    if variance_source <= 0 or d[1] <= 1e-12 * max(d[0], 1e-300):
        raise ValueError("source points are collinear or coincident: the rotation is not determined")
    signs = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        signs[2] = -1.0
    rotation = u @ np.diag(signs) @ vt
    scale = float((d * signs).sum() / variance_source)
    translation = mean_target - scale * rotation @ mean_source
    return Similarity(scale, rotation, translation)


def angles_degrees(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n,) angles in degrees between the rows of two (n, 3) arrays of non-zero vectors."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    cosine = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def centre_spread(centres: np.ndarray) -> float:
    """Root-mean-square distance of (n, 3) points from their mean: the size of a camera rig (0 for one point)."""
    centres = np.asarray(centres, np.float64)
    return float(np.sqrt(((centres - centres.mean(axis=0)) ** 2).sum(axis=1).mean()))


def pose_errors(centres: np.ndarray, forwards: np.ndarray, ref_centres: np.ndarray,
                ref_forwards: np.ndarray) -> dict[str, float]:
    """Errors of poses after aligning them to reference poses of the same images by :func:`similarity_umeyama`.

    Args:
        centres: (n, 3) camera centres to check, in their own world.
        forwards: (n, 3) their viewing directions (any length) in the same world.
        ref_centres: (n, 3) reference camera centres, same order.
        ref_forwards: (n, 3) reference viewing directions.
    Returns:
        ``centre_error_mean`` / ``centre_error_max``: centre distances after alignment divided by the reference
        centres' spread (:func:`centre_spread`: the rig's RMS radius), ``direction_error_mean_deg`` /
        ``direction_error_max_deg``: angles between aligned and reference viewing directions in degrees,
        ``scale``: the alignment's scale, ``reference_spread``: the spread in reference units.
    """
    similarity = similarity_umeyama(centres, ref_centres)
    distances = np.linalg.norm(similarity.apply(centres) - np.asarray(ref_centres, np.float64), axis=1)
    spread = centre_spread(ref_centres)
    angles = angles_degrees(similarity.rotate(forwards), ref_forwards)
    return {"centre_error_mean": float(distances.mean() / spread), "centre_error_max": float(distances.max() / spread),
            "direction_error_mean_deg": float(angles.mean()), "direction_error_max_deg": float(angles.max()),
            "scale": similarity.scale, "reference_spread": spread}


__all__ = ["Similarity", "angles_degrees", "centre_spread", "pose_errors", "similarity_umeyama"]
