"""jneusample.samplers.stratified and the Stratified control model."""
import numpy as np

from jneusample.platform.backend import jt
from jneusample.config import preset
from jneusample.models.registry import build_model
from jneusample.rendering import Rays, RenderSettings
from jneusample.samplers.stratified import stratified_unit_samples, unit_positions, unit_to_distance


def test_render_time_samples_are_the_bin_centres_on_every_ray():
    t = stratified_unit_samples(3, 4, jitter=False).numpy()
    np.testing.assert_allclose(t, np.tile([0.125, 0.375, 0.625, 0.875], (3, 1)))


def test_training_samples_fall_one_in_each_bin_and_differ_per_ray():
    jt.set_seed(3)
    t = stratified_unit_samples(500, 4, jitter=True).numpy()
    bins = np.floor(t * 4)
    assert (bins == np.arange(4)).all()  # sample k lies in [k/4, (k+1)/4): sorted, one per bin
    assert t.std(axis=0).min() > 0.05  # jittered per ray (uniform in a bin of 1/4: std 0.072)


def test_unit_positions_map_linearly_onto_near_far():
    z = unit_to_distance(jt.array(np.array([[0.0, 0.25, 1.0]], np.float32)), 2.0, 6.0).numpy()
    np.testing.assert_allclose(z, [[2.0, 3.0, 6.0]])


def test_the_stratified_model_renders_at_the_bin_centres_at_any_n():
    config = preset("tiny")
    config.model.kind = "stratified"
    model = build_model(config.model)
    rays = Rays.from_numpy(np.zeros((2, 3), np.float32), np.tile([[0, 0, -1.0]], (2, 1)).astype(np.float32),
                           np.tile([[0, 0, -1.0]], (2, 1)).astype(np.float32))
    settings = RenderSettings(near=2.0, far=6.0, white_background=True)
    model.set_points_per_ray(5)
    z = model(rays, settings)["z"].numpy()
    np.testing.assert_allclose(z, np.tile(2.0 + 4.0 * (np.arange(5) + 0.5) / 5, (2, 1)), rtol=1e-6)
    assert model.flops_per_ray() > 0 and not model.sampler.reset_if_collapsed()


def test_interval_jitter_keeps_each_sample_in_its_share_and_passes_the_gradient():
    from jneusample.samplers.stratified import jitter_within_intervals

    # t = 0.2, 0.4, 0.8: shares [0.1, 0.3], [0.3, 0.6], [0.6, 1.0] (the last: mirrored half gap 0.2, clipped at 1)
    jt.set_seed(0)
    t = jt.array(np.tile(np.array([[0.2, 0.4, 0.8]], np.float32), (2000, 1)))
    moved = jitter_within_intervals(t).numpy()
    lower, upper = np.array([0.1, 0.3, 0.6]), np.array([0.3, 0.6, 1.0])
    assert ((moved >= lower - 1e-6) & (moved <= upper + 1e-6)).all()
    np.testing.assert_allclose(moved.mean(0), (lower + upper) / 2, atol=0.01)  # uniform within each share
    assert (np.diff(moved, axis=1) >= 0).all()
    source = jt.array(np.array([[0.2, 0.4, 0.8]], np.float32))
    grad = jt.grad(jitter_within_intervals(source).sum(), source).numpy()
    assert np.abs(grad).sum() > 0


def test_unit_positions_invert_the_sample_fields_maps():
    np.testing.assert_allclose(unit_positions(np.array([2.0, 3.0, 6.0]), 2.0, 6.0), [0.0, 0.25, 1.0])
    # linear in disparity: 1/z = 1/2·(1 − t) + 1/6·t, so z = 3 ↔ 1/3 = 1/2 − t/3 ↔ t = 1/2
    np.testing.assert_allclose(unit_positions(np.array([2.0, 3.0, 6.0]), 2.0, 6.0, inverse_depth=True),
                               [0.0, 0.5, 1.0])
