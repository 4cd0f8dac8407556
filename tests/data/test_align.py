"""Similarity alignment of camera sets (jneusample.data.align), against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from jneusample.data.align import angles_degrees, centre_spread, pose_errors, similarity_umeyama

UNIT = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
# x ↦ 2 · Rz(90°) x + (1, 2, 3), with Rz(90°): (x, y, z) ↦ (−y, x, z), worked out by hand for each point.
UNIT_MAPPED = np.array([[1.0, 2.0, 3.0], [1.0, 4.0, 3.0], [-1.0, 2.0, 3.0], [1.0, 2.0, 5.0]])
RZ90 = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def test_umeyama_recovers_a_known_similarity():
    similarity = similarity_umeyama(UNIT, UNIT_MAPPED)
    assert similarity.scale == pytest.approx(2.0)
    np.testing.assert_allclose(similarity.rotation, RZ90, atol=1e-12)
    np.testing.assert_allclose(similarity.translation, [1.0, 2.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(similarity.apply(UNIT), UNIT_MAPPED, atol=1e-12)
    np.testing.assert_allclose(similarity.rotate([[1.0, 0.0, 0.0]]), [[0.0, 1.0, 0.0]], atol=1e-12)


def test_umeyama_never_returns_a_reflection():
    mirrored = UNIT * np.array([1.0, 1.0, -1.0])  # a mirror image: no rotation maps one onto the other
    similarity = similarity_umeyama(UNIT, mirrored)
    assert np.linalg.det(similarity.rotation) == pytest.approx(1.0)
    np.testing.assert_allclose(similarity.rotation @ similarity.rotation.T, np.eye(3), atol=1e-12)


@pytest.mark.parametrize("source, message", [
    (np.zeros((2, 3)), "at least 3"),
    (np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]), "collinear"),
    (np.ones((4, 3)), "collinear"),
])
def test_umeyama_refuses_undetermined_input(source, message):
    with pytest.raises(ValueError, match=message):
        similarity_umeyama(source, source + 1.0)


def test_spread_and_angles_by_hand():
    # four points at distance 1 from their mean (the origin): RMS radius 1
    assert centre_spread([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]]) == pytest.approx(1.0)
    assert centre_spread([[2, 0, 0], [4, 0, 0]]) == pytest.approx(1.0)  # both 1 from the mean (3, 0, 0)
    np.testing.assert_allclose(angles_degrees([[1, 0, 0], [1, 0, 0], [0, 0, 2]], [[0, 3, 0], [1, 1, 0], [0, 0, 1]]),
                               [90.0, 45.0, 0.0], atol=1e-9)


def test_pose_errors_measure_what_the_alignment_leaves():
    ref_centres = np.array([[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]])  # spread 1
    ref_forwards = np.tile([0.0, 0.0, -1.0], (4, 1))
    # our cameras: the same rig in another world (scale 0.5, turned by Rz(90°), moved), one view turned by 3°
    inverse = RZ90.T
    centres = 0.5 * ref_centres @ inverse.T + np.array([5.0, -2.0, 1.0])
    forwards = ref_forwards @ inverse.T
    tilt = np.radians(3.0)
    forwards[1] = inverse @ np.array([np.sin(tilt), 0.0, -np.cos(tilt)])
    errors = pose_errors(centres, forwards, ref_centres, ref_forwards)
    assert errors["scale"] == pytest.approx(2.0)
    assert errors["reference_spread"] == pytest.approx(1.0)
    assert errors["centre_error_mean"] == pytest.approx(0.0, abs=1e-12)
    assert errors["direction_error_max_deg"] == pytest.approx(3.0)
    assert errors["direction_error_mean_deg"] == pytest.approx(0.75)

    moved = centres.copy()
    moved[:, 2] += np.array([0.1, 0.1, -0.1, -0.1])  # a saddle (+z on the x pair, −z on the y pair): no similarity absorbs it
    errors = pose_errors(moved, forwards, ref_centres, ref_forwards)
    # By symmetry the fit keeps rotation and translation; Umeyama's scale is the cross term over the source
    # variance: s = mean<0.5·ref, ref> / mean|0.5·ref + e|² = 0.5 / (0.25 + 0.01). Each camera then lies
    # (1 − 0.5 s) off radially and 0.1 s off in z (the spread is 1).
    s = 0.5 / 0.26
    assert errors["scale"] == pytest.approx(s)
    assert errors["centre_error_mean"] == pytest.approx(np.hypot(1 - 0.5 * s, 0.1 * s), rel=1e-9)
    assert errors["centre_error_max"] == pytest.approx(np.hypot(1 - 0.5 * s, 0.1 * s), rel=1e-9)
