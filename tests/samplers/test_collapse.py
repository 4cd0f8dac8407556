"""jneusample.samplers.collapse: the share of samples at the rays' ends, and of rays collapsed onto them."""
import numpy as np
import pytest

from jneusample.samplers.collapse import collapsed_rays, samples_at_ends


def test_samples_at_ends_counts_distances_within_a_thousandth_of_the_ends():
    # near 2, far 6: margin 0.004; 2.0, 2.004 and 6.0 are at the ends, 2.0041, 4 and 5.99 are not
    z = np.array([[2.0, 2.004, 2.0041], [4.0, 5.99, 6.0]])
    assert samples_at_ends(z, 2.0, 6.0) == pytest.approx(3 / 6)


def test_collapsed_rays_counts_rays_with_more_than_half_of_their_samples_at_the_ends():
    z = np.array([[2.0, 2.0, 6.0, 4.0], [2.0, 3.0, 4.0, 6.0], [3.0, 4.0, 5.0, 6.0]])  # 3, 2 and 1 of 4 at the ends
    assert collapsed_rays(z, 2.0, 6.0) == pytest.approx(1 / 3)
