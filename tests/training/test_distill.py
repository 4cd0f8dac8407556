"""Distilled extraction's pure functions against hand-computed cases (jneusample/training/distill.py)."""
import numpy as np
import pytest

from jneusample.platform.backend import jt
from jneusample.training.distill import CoverageDistillation, coverage_loss, pooled_quantiles, pooled_start
from jneusample.rendering import Rays, RenderSettings


def var(rows) -> jt.Var:
    return jt.array(np.array(rows, np.float32))


def test_pooled_quantiles_of_a_hand_made_weight_vector():
    # Samples at 1/4 and 3/4 own the bins [0, 1/2] and [1/2, 1]; weights 3/4 and 1/4 make the CDF piecewise
    # linear through (0, 0), (1/2, 3/4), (1, 1): F⁻¹(3/8) = 1/4, F⁻¹(3/4) = 1/2, F⁻¹(7/8) = 1/2 + 1/2·(1/8)/(1/4).
    t = np.array([[0.25, 0.75]])
    q = pooled_quantiles(t, np.array([[0.75, 0.25]]), np.array([0.375, 0.75, 0.875]))
    np.testing.assert_allclose(q, [0.25, 0.5, 0.75], atol=1e-3)


def test_pooled_quantiles_pool_the_mass_of_all_rays():
    # one ray's weight in the front bin, the other's in the back bin: together the uniform density on [0, 1]
    t = np.array([[0.25, 0.75], [0.25, 0.75]])
    weights = np.array([[1.0, 0.0], [0.0, 1.0]])
    levels = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    np.testing.assert_allclose(pooled_quantiles(t, weights, levels), levels, atol=1e-3)
    # a ray with more weight counts more: all mass of ray 2 halved → F(1/2) = 2/3
    q = pooled_quantiles(t, np.array([[1.0, 0.0], [0.0, 0.5]]), np.array([2 / 3]))
    np.testing.assert_allclose(q, [0.5], atol=1e-3)


def test_pooled_start_places_the_front_samples_by_the_weights_and_the_last_at_the_parents_last():
    # front samples 0.1 and 0.3 own [0, 0.2] and [0.2, 1] with mass 1/2 each: F⁻¹(1/4) = 0.1,
    # F⁻¹(3/4) = 0.2 + 0.8·(1/4)/(1/2) = 0.6; the last sample goes to the mean of the parent's last (0.9, 0.8)
    t = np.array([[0.1, 0.3, 0.9], [0.1, 0.3, 0.8]])
    weights = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.3]])
    np.testing.assert_allclose(pooled_start(t, weights, 3), [0.1, 0.6, 0.85], atol=1e-3)


def test_coverage_loss_by_hand_and_its_gradient():
    parent_z = var([[1.0, 2.0, 5.0]])
    parent_w = var([[0.8, 0.2, 0.7]])  # the last weight is covered by the pinned last sample, not the front ones
    z = var([[1.5, 4.0]])
    # front: 0.8·|1 − 1.5| + 0.2·|2 − 1.5| = 0.5; last: |4 − 5| = 1; over far − near = 10
    assert coverage_loss(parent_z, parent_w, z, 0.0, 10.0).item() == pytest.approx(0.15, rel=1e-5)
    grad = jt.grad(coverage_loss(parent_z, parent_w, z, 0.0, 10.0), z).numpy()
    np.testing.assert_allclose(grad, [[(0.8 - 0.2) / 10, -1 / 10]], atol=1e-6)


def test_coverage_loss_pulls_only_the_nearest_sample():
    parent_z = var([[1.0, 9.0, 10.0]])
    parent_w = var([[0.0, 1.0, 0.0]])
    z = var([[2.0, 8.0, 9.5]])  # the weight at 9 is nearest to 8: of the front samples only that one moves
    grad = jt.grad(coverage_loss(parent_z, parent_w, z, 0.0, 10.0), z).numpy()
    np.testing.assert_allclose(grad, [[0.0, -0.1, -0.1]], atol=1e-6)  # the last one is pulled to 10


class FixedParent:
    """A stand-in parent that renders every ray alike, counting its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, rays, settings):
        self.calls += 1
        n = rays.origins.shape[0]
        return {"z": var([[1.0, 2.0, 5.0]] * n), "weights": var([[0.8, 0.2, 0.0]] * n),
                "color": var([[0.5, 0.5, 0.5]] * n)}


def test_distillation_adds_the_weighted_coverage_and_colour_terms():
    settings = RenderSettings(near=0.0, far=10.0, white_background=True)
    rays = Rays(var([[0, 0, 0]]), var([[0, 0, 1]]), var([[0, 0, 1]]))
    outputs = {"z": var([[1.5, 4.0]]), "color": var([[0.5, 0.5, 1.0]])}
    parent = FixedParent()
    assert CoverageDistillation(parent, settings, weight=2.0)(rays, outputs).item() == pytest.approx(0.3, rel=1e-5)
    both = CoverageDistillation(parent, settings, weight=2.0, color_weight=3.0)(rays, outputs)
    assert both.item() == pytest.approx(0.3 + 3.0 * 0.25 / 3, rel=1e-5)
    assert parent.calls == 2


def test_the_cpu_preset_distils_and_paper_and_tiny_keep_the_ports_extraction():
    from jneusample.config import Config, preset

    assert (preset("cpu").extract.head_init, preset("cpu").extract.distill) == ("quantiles", "coverage")
    for name in ("paper", "tiny"):
        assert (preset(name).extract.head_init, preset(name).extract.distill) == ("fresh", "none")
    old = Config.from_dict({"preset": "cpu", "extract": {"steps": 1000}})  # a config.json from before the fields
    assert (old.extract.head_init, old.extract.distill) == ("fresh", "none")
