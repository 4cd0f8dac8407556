"""The quantile head's histogram loss (jneusample/samplers/histogram_loss.py) against hand-computed cases, and its wiring
into NeuSample's loss (model.sample_field_histogram_loss)."""
import numpy as np
import pytest

from jneusample.platform.backend import jt
from jneusample.config import apply_overrides, preset, validate
from jneusample.errors import InputError
from jneusample.samplers.histogram_loss import histogram_loss, histogram_target, interval_histogram
from jneusample.losses import mse
from jneusample.models.registry import build_model
from jneusample.rendering import Rays, RenderSettings


def var(rows) -> jt.Var:
    return jt.array(np.array(rows, np.float32))


def test_each_weight_is_spread_over_its_interval():
    # intervals [0.1, 0.3] and [0.3, 0.6] with weights 0.2 and 0.3: densities 1 and 1 per unit t; the last
    # sample's weight (0.4, the rest of the ray behind 0.6) is not binned. Bins of 1/4: [0, .25] gets .15 of the
    # first; [.25, .5] .05 + .2; [.5, .75] .1; [.75, 1] nothing
    binned = interval_histogram(var([[0.1, 0.3, 0.6]]), var([[0.2, 0.3, 0.4]]), 4).numpy()
    np.testing.assert_allclose(binned, [[0.15, 0.25, 0.1, 0.0]], atol=1e-6)
    # a weight inside one bin stays there whole; the mass is conserved
    binned = interval_histogram(var([[0.55, 0.7, 0.9]]), var([[0.5, 0.0, 0.3]]), 4).numpy()
    np.testing.assert_allclose(binned, [[0.0, 0.0, 0.5, 0.0]], atol=1e-6)


def test_the_target_spreads_what_the_ray_leaves_and_sums_to_one():
    # binned 0.5 in front of the last sample: the other 0.5 (last sample and background) spread as 0.125 a bin
    target = histogram_target(var([[0.1, 0.3, 0.6]]), var([[0.2, 0.3, 0.4]]), 4).numpy()
    np.testing.assert_allclose(target, [[0.275, 0.375, 0.225, 0.125]], atol=1e-6)
    # a ray that hits nothing, or whose weight is all on its last sample: the uniform histogram
    for weights in ([[0.0, 0.0]], [[0.0, 1.0]]):
        target = histogram_target(var([[0.2, 0.5]]), var(weights), 5).numpy()
        np.testing.assert_allclose(target, [[0.2] * 5], atol=1e-6)


def test_loss_is_the_cross_entropy_and_its_gradient_is_p_minus_q():
    t, weights = var([[0.1, 0.3, 0.6]]), var([[0.2, 0.3, 0.4]])
    q = np.array([0.275, 0.375, 0.225, 0.125])
    uniform = var([[0.25] * 4])
    assert histogram_loss(uniform, t, weights).item() == pytest.approx(np.log(4), abs=1e-6)
    logits = var([[0.3, -0.2, 0.1, 0.0]])
    masses = jt.nn.softmax(logits, dim=1)
    p = masses.numpy()[0]
    assert histogram_loss(masses, t, weights).item() == pytest.approx(-(q * np.log(p)).sum(), abs=1e-5)
    np.testing.assert_allclose(jt.grad(histogram_loss(masses, t, weights), logits).numpy()[0], p - q, atol=1e-5)
    # no gradient into the samples or the weights
    grads = jt.grad(histogram_loss(masses, t, weights), [t, weights])
    assert all(np.abs(g.numpy()).max() == 0 for g in grads)


def rays(count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(count, 3)).astype(np.float32)
    return Rays.from_numpy(np.zeros((count, 3), np.float32), directions, directions)


def test_neusample_adds_the_loss_in_training_and_it_reaches_only_the_sample_field():
    config = apply_overrides(preset("tiny"), ["model.sample_field_head=quantile", "model.sample_field_bins=16",
                                              "model.sample_field_histogram_loss=0.5"])
    model = build_model(config.model)
    batch, target = rays(16), jt.array(np.full((16, 3), 0.3, np.float32))
    jt.set_seed(1)
    outputs = model(batch, RenderSettings(2.0, 6.0, True, perturb=True))
    assert outputs["sample_masses"].shape == [16, 16] and outputs["sample_t"].shape == [16, 8]
    photometric = mse(outputs["color"], target).item()
    extra = histogram_loss(outputs["sample_masses"], outputs["sample_t"], outputs["weights"]).item()
    assert model.loss(outputs, target).item() == pytest.approx(photometric + 0.5 * extra, rel=1e-5)
    assert photometric == pytest.approx(((outputs["color"].numpy() - 0.3) ** 2).mean(), rel=1e-5)
    # evaluation renders without it
    assert "sample_masses" not in model(batch, RenderSettings(2.0, 6.0, True))
    # the histogram term alone moves the sample-field head, not the radiance field
    term = histogram_loss(outputs["sample_masses"], outputs["sample_t"], outputs["weights"])
    head = model.sampler.sample_field.head.bias
    radiance = list(model.radiance_field.parameters())[0]
    head_grad, radiance_grad = jt.grad(term, [head, radiance])
    assert np.abs(head_grad.numpy()).max() > 0 and np.abs(radiance_grad.numpy()).max() == 0


def test_the_paper_head_refuses_the_histogram_loss():
    with pytest.raises(InputError, match="sample_field_histogram_loss needs model.sample_field_head='quantile'"):
        validate(apply_overrides(preset("tiny"), ["model.sample_field_histogram_loss=0.1"]))
    with pytest.raises(InputError, match="must be >= 0"):
        validate(apply_overrides(preset("tiny"), ["model.sample_field_head=quantile",
                                                  "model.sample_field_histogram_loss=-1"]))


def test_a_uniform_share_mixes_the_target_with_the_uniform_histogram():
    target = histogram_target(var([[0.1, 0.3, 0.6]]), var([[0.2, 0.3, 0.4]]), 4, uniform_share=0.2).numpy()
    np.testing.assert_allclose(target, 0.8 * np.array([[0.275, 0.375, 0.225, 0.125]]) + 0.05, atol=1e-6)


def test_the_histogram_term_leaves_the_photometric_gradients_intact():
    # Jittor's stop_grad() marks a variable in place: taken on the rendering's own weights it would cut the
    # colour's gradient into the radiance field (what the histogram target must only read)
    config = apply_overrides(preset("tiny"), ["model.sample_field_head=quantile", "model.sample_field_bins=16",
                                              "model.sample_field_histogram_loss=0.5"])
    model = build_model(config.model)
    model.sampler.jitter = False  # the two passes below draw nothing at random
    batch, target = rays(16), jt.array(np.full((16, 3), 0.3, np.float32))
    radiance = list(model.radiance_field.parameters())
    jt.set_seed(1)
    outputs = model(batch, RenderSettings(2.0, 6.0, True, perturb=True))
    with_term = jt.grad(model.loss(outputs, target), radiance)
    model.sampler.histogram_loss_weight = 0.0
    jt.set_seed(1)
    outputs = model(batch, RenderSettings(2.0, 6.0, True, perturb=True))
    without = jt.grad(model.loss(outputs, target), radiance)
    assert max(float(np.abs(g.numpy()).max()) for g in without) > 0
    for a, b in zip(with_term, without):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-7)
