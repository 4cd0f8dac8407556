"""Stratified and inverse-CDF (hierarchical) distance samplers against hand-computed cases."""
import numpy as np
import pytest

from jneusample.platform.backend import jt
from jneusample.samplers.distances import bin_edges, inverse_cdf_distances, stratified_distances


def test_stratified_without_jitter_is_linspace_for_every_ray():
    z = stratified_distances(2.0, 6.0, n_rays=3, n_samples=5, jitter=False).numpy()
    assert z.shape == (3, 5)
    np.testing.assert_allclose(z, np.tile([2.0, 3.0, 4.0, 5.0, 6.0], (3, 1)), atol=1e-6)


def test_stratified_jittered_samples_lie_in_their_bins_and_vary():
    jt.set_seed(3)
    z = stratified_distances(2.0, 6.0, n_rays=500, n_samples=5, jitter=True).numpy()
    lower, upper = bin_edges(2.0, 6.0, 5)
    np.testing.assert_allclose(lower, [2.0, 2.5, 3.5, 4.5, 5.5])
    np.testing.assert_allclose(upper, [2.5, 3.5, 4.5, 5.5, 6.0])
    assert z.shape == (500, 5)
    assert np.all(z >= lower - 1e-6) and np.all(z <= upper + 1e-6)
    assert np.all(np.diff(z, axis=1) >= 0)
    # uniform inside each bin: the mean is the bin centre, and rays differ
    np.testing.assert_allclose(z.mean(0), 0.5 * (lower + upper), atol=0.05)
    assert z[:, 2].std() > 0.2


def test_inverse_cdf_two_bins_exact_quantiles():
    bins = jt.array(np.array([[0.0, 1.0, 2.0]], np.float32))
    weights = jt.array(np.array([[1.0, 3.0]], np.float32))  # P = 1/4, 3/4 (+1e-5 each)
    z = inverse_cdf_distances(bins, weights, 5, jitter=False).numpy()
    # u = 0, 1/4, 1/2, 3/4, 1 → z = F⁻¹(u) with F piecewise linear through (0,0), (1,1/4), (2,1)
    np.testing.assert_allclose(z[0], [0.0, 1.0, 1.0 + 1.0 / 3.0, 1.0 + 2.0 / 3.0, 2.0], atol=1e-4)


def test_inverse_cdf_concentrated_weight_puts_samples_in_that_bin():
    bins = jt.array(np.array([[0.0, 1.0, 2.0, 3.0, 4.0], [10.0, 11.0, 12.0, 13.0, 14.0]], np.float32))
    weights = jt.array(np.array([[0.0, 0.0, 1.0, 0.0], [5.0, 0.0, 0.0, 0.0]], np.float32))
    z = inverse_cdf_distances(bins, weights, 9, jitter=False).numpy()
    # the quantiles strictly inside (0, 1) land in the heavy bin; u = 0 and u = 1 map to the outer edges
    assert np.all((z[0, 1:-1] >= 2.0) & (z[0, 1:-1] <= 3.0))
    assert np.all((z[1, :-1] >= 10.0) & (z[1, :-1] <= 11.0))
    np.testing.assert_allclose(z[0, 1:-1], 2.0 + np.arange(1, 8) / 8.0, atol=1e-3)
    jt.set_seed(0)
    rand = inverse_cdf_distances(bins, weights, 2000, jitter=True).numpy()
    assert np.mean((rand[0] >= 2.0) & (rand[0] <= 3.0)) > 0.99
    assert np.mean((rand[1] >= 10.0) & (rand[1] <= 11.0)) > 0.99


def test_inverse_cdf_uniform_weights_follow_the_bins_and_stop_gradients():
    bins = jt.array(np.array([[0.0, 1.0, 3.0, 6.0]], np.float32))
    weights = jt.ones((1, 3)) * 0.5
    weights.start_grad()
    z = inverse_cdf_distances(bins, weights, 4, jitter=False)
    # equal mass per bin: u = 0, 1/3, 2/3, 1 hit the edges
    np.testing.assert_allclose(z.numpy()[0], [0.0, 1.0, 3.0, 6.0], atol=1e-4)
    assert z.is_stop_grad()


@pytest.mark.parametrize("jitter", [False, True])
def test_inverse_cdf_distances_are_sorted_and_inside_the_bins(jitter):
    rng = np.random.default_rng(1)
    edges = np.sort(rng.uniform(2, 6, (64, 17)), axis=1).astype(np.float32)
    weights = rng.random((64, 16)).astype(np.float32) ** 4
    z = inverse_cdf_distances(jt.array(edges), jt.array(weights), 32, jitter=jitter).numpy()
    assert z.shape == (64, 32)
    assert np.all(np.diff(z, axis=1) >= -1e-5)
    assert np.all(z >= edges[:, :1] - 1e-5) and np.all(z <= edges[:, -1:] + 1e-5)
