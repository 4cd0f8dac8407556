import numpy as np
import pytest

from jneusample.platform.backend import jt
from jneusample.config import preset
from jneusample.fields.sample_field import PaperSampleField, QuantileSampleField
from jneusample.models.registry import build_model
from jneusample.rendering import Rays, RenderSettings


def random_rays(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    origins = rng.normal(size=(n, 3)).astype(np.float32) * 4
    directions = rng.normal(size=(n, 3)).astype(np.float32)
    return origins, directions


@pytest.mark.parametrize("init", [True, False])
def test_distances_are_sorted_and_inside_near_far(init):
    field = PaperSampleField(n_samples=16, width=32, depth=4, origin_freqs=4, direction_freqs=4, uniform_init=init)
    origins, directions = random_rays(50)
    unit = directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    z = field(jt.array(origins), jt.array(unit), 2.0, 6.0).numpy()
    assert z.shape == (50, 16)
    assert np.all(np.diff(z, axis=1) >= 0)
    assert z.min() >= 2.0 and z.max() <= 6.0


def test_uniform_init_spreads_samples_over_the_ray():
    field = PaperSampleField(n_samples=32, width=32, depth=2, origin_freqs=2, direction_freqs=2, uniform_init=True)
    origins, directions = random_rays(10)
    unit = directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    z = field(jt.array(origins), jt.array(unit), 2.0, 6.0).numpy()
    assert z[:, 0].mean() < 2.5 and z[:, -1].mean() > 5.5  # covers [near, far], not bunched mid-ray


@pytest.mark.parametrize("head", ["paper", "quantile"])
def test_default_init_is_pytorchs_linear_default(head):
    """'default': weight and bias ~ U(±1/√fan_in), as the official code's PyTorch Linear (std 1/√(3·fan_in)),
    from Jittor's generator: the seed fixes them."""
    fields = []
    for seed in (1, 1, 2):  # not 0: Jittor's CPU generator (minstd) takes seed 0 as 1
        jt.set_global_seed(seed)
        fields.append(PaperSampleField(n_samples=64, width=128, depth=2, origin_freqs=2, direction_freqs=2,
                                  uniform_init=False) if head == "paper" else
                      QuantileSampleField(n_samples=64, width=128, depth=2, origin_freqs=2, direction_freqs=2,
                                          uniform_init=False, n_bins=64))
        jt.sync(list(fields[-1].parameters()))  # Jittor draws lazily: before the next seed
    bound = 1 / np.sqrt(128)
    for values in (fields[0].head.weight.numpy(), fields[0].head.bias.numpy()):
        assert np.abs(values).max() <= bound
        assert values.std() == pytest.approx(bound / np.sqrt(3), rel=0.1)  # not scaled down
    assert np.array_equal(fields[0].head.weight.numpy(), fields[1].head.weight.numpy())
    assert not np.array_equal(fields[0].head.weight.numpy(), fields[2].head.weight.numpy())


def test_uniform_init_scales_the_paper_heads_weights_by_a_tenth():
    field = PaperSampleField(n_samples=64, width=128, depth=2, origin_freqs=2, direction_freqs=2, uniform_init=True)
    weight = field.head.weight.numpy()
    assert np.abs(weight).max() <= 0.1 / np.sqrt(128) and weight.std() > 0.05 / np.sqrt(3 * 128)


def test_photometric_loss_reaches_the_sample_field():
    config = preset("tiny")
    model = build_model(config.model)
    origins, directions = random_rays(32, seed=1)
    view = directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    outputs = model(Rays.from_numpy(origins, directions, view), RenderSettings(2.0, 6.0, True))
    loss = model.loss(outputs, jt.array(np.full((32, 3), 0.3, np.float32)))
    params = list(model.sampler.sample_field.parameters())
    grads = jt.grad(loss, params)
    norms = [float(np.abs(g.numpy()).sum()) for g in grads]
    assert all(np.isfinite(norms))
    assert norms[-2] > 0 and sum(norms) > 0  # the head and the trunk learn through z alone


def test_replace_head_changes_the_number_of_samples():
    field = PaperSampleField(n_samples=16, width=32, depth=2, origin_freqs=2, direction_freqs=2)
    field.replace_head(5)
    origins, directions = random_rays(4)
    unit = directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    assert field(jt.array(origins), jt.array(unit), 0.0, 1.0).shape == [4, 5]


@pytest.mark.parametrize("head", ["paper", "quantile"])
def test_reset_head_puts_every_ray_back_at_the_uniform_placement(head):
    """A collapsed field (samples at near and far) is reset to t_k = (k + ½)/N on every ray, deterministically."""
    field = (PaperSampleField(n_samples=8, width=16, depth=2, origin_freqs=2, direction_freqs=2) if head == "paper" else
             QuantileSampleField(n_samples=8, width=16, depth=2, origin_freqs=2, direction_freqs=2, n_bins=16))
    field.head.bias.assign(jt.array(np.where(np.arange(field.head.bias.shape[0]) % 2 == 0, -30.0, 30.0)
                                    .astype(np.float32)))
    origins, directions = random_rays(20, seed=3)
    unit = jt.array(directions / np.linalg.norm(directions, axis=-1, keepdims=True))
    params = field.reset_head()
    assert [p is q for p, q in zip(params, (field.head.weight, field.head.bias))] == [True, True]
    assert not field.head.weight.numpy().any()
    t = field.unit_samples(jt.array(origins), unit).numpy()
    np.testing.assert_allclose(t, np.broadcast_to((np.arange(8) + 0.5) / 8, (20, 8)), atol=2e-6)
