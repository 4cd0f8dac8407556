"""The sample field's quantile head (any N at render time, docs/method.md §8): hand-computed quantiles of a
histogram, order, uniform initialisation, gradients, and NeuSample's render / training N."""
import numpy as np
import pytest

from jneusample.platform.backend import jt
from jneusample.config import apply_overrides, preset
from jneusample.errors import InputError
from jneusample.fields.sample_field import QuantileSampleField, histogram_quantiles, quantile_levels
from jneusample.models.registry import build_model
from jneusample.rendering import Rays, RenderSettings


def logits_of(masses) -> jt.Var:
    return jt.array(np.log(np.asarray(masses, np.float32)))


def rays(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    origins = rng.normal(size=(n, 3)).astype(np.float32) * 4
    directions = rng.normal(size=(n, 3)).astype(np.float32)
    return origins, directions, directions / np.linalg.norm(directions, axis=-1, keepdims=True)


def test_levels_are_bin_centres_or_one_offset_per_ray():
    np.testing.assert_allclose(quantile_levels(2, 4, jitter=False).numpy(), [[0.125, 0.375, 0.625, 0.875]] * 2)
    jt.set_seed(1)
    jittered = quantile_levels(300, 4, jitter=True).numpy()
    offsets = jittered * 4 - np.arange(4)  # (k + u)/N → u, the same for every k of a ray
    np.testing.assert_allclose(offsets, np.repeat(offsets[:, :1], 4, axis=1), atol=1e-5)
    assert offsets.min() >= 0 and offsets.max() < 1 and offsets.std() > 0.2


def test_quantiles_of_a_hand_made_histogram():
    # K = 4 bins of [0, 1] with masses 0.1, 0.4, 0.4, 0.1: CDF 0, 0.1, 0.5, 0.9, 1 at t = 0, ¼, ½, ¾, 1.
    # Levels ⅛, ⅜, ⅝, ⅞: ⅛ and ⅜ fall in bin 1 (t = ¼ + (u − 0.1)/0.4·¼), ⅝ and ⅞ in bin 2 (t = ½ + (u − ½)/0.4·¼).
    levels = quantile_levels(1, 4, jitter=False)
    t = histogram_quantiles(logits_of([[0.1, 0.4, 0.4, 0.1]]), levels, floor=0.0).numpy()
    np.testing.assert_allclose(t, [[0.265625, 0.421875, 0.578125, 0.734375]], atol=1e-6)
    # Two bins with masses ¼, ¾ (CDF 0, ¼, 1 at t = 0, ½, 1): ⅛ → ¼; ⅜ → ½ + (⅛/¾)·½ = 7/12; ⅝ → ¾; ⅞ → 11/12.
    t = histogram_quantiles(logits_of([[1.0, 3.0]]), levels, floor=0.0).numpy()
    np.testing.assert_allclose(t, [[0.25, 7 / 12, 0.75, 11 / 12]], atol=1e-6)
    # The default floor mixes in 1 % of uniform mass: masses 0.99·m + 0.01/4 = 0.1015, 0.3985, 0.3985, 0.1015.
    t = histogram_quantiles(logits_of([[0.1, 0.4, 0.4, 0.1]]), levels).numpy()
    np.testing.assert_allclose(t[0, 0], 0.25 + (0.125 - 0.1015) / 0.3985 * 0.25, atol=1e-6)
    np.testing.assert_allclose(t[0] + t[0, ::-1], 1.0, atol=1e-6)  # the histogram is symmetric


@pytest.mark.parametrize("jitter", [False, True])
def test_samples_are_ascending_inside_unit_interval_for_any_n(jitter):
    rng = np.random.default_rng(2)
    logits = jt.array((rng.normal(size=(64, 32)) * 6).astype(np.float32))  # peaked, nearly empty bins
    jt.set_seed(2)
    for n in (2, 7, 64, 192):
        t = histogram_quantiles(logits, quantile_levels(64, n, jitter)).numpy()
        assert t.shape == (64, n) and np.all(np.isfinite(t))
        assert np.all(np.diff(t, axis=1) >= 0)
        assert t.min() >= 0.0 and t.max() <= 1.0


def test_uniform_init_gives_bin_centres_at_every_n():
    field = QuantileSampleField(n_samples=8, width=32, depth=2, origin_freqs=2, direction_freqs=2, n_bins=16)
    origins, _, unit = rays(5)
    for n in (3, 8, 17):
        z = field(jt.array(origins), jt.array(unit), 2.0, 6.0, n_samples=n).numpy()
        expected = 2.0 + 4.0 * (np.arange(n) + 0.5) / n
        np.testing.assert_allclose(z, np.tile(expected, (5, 1)), atol=1e-5)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(1, 6)).astype(np.float64)
    levels = quantile_levels(1, 5, jitter=False)
    weights = np.arange(1.0, 6.0)

    def objective(values):
        return float((histogram_quantiles(jt.array(values.astype(np.float32)), levels).numpy()[0] * weights).sum())

    logits = jt.array(base.astype(np.float32))
    grad = jt.grad((histogram_quantiles(logits, levels) * jt.array(weights.astype(np.float32))).sum(),
                   logits).numpy()[0]
    step = 1e-2
    numeric = [(objective(base + step * np.eye(6)[[i]]) - objective(base - step * np.eye(6)[[i]])) / (2 * step)
               for i in range(6)]
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 1e-2
    np.testing.assert_allclose(grad, numeric, atol=2e-3)
    assert abs(grad.sum()) < 1e-4  # softmax: adding a constant to every logit changes nothing


def test_photometric_loss_reaches_the_quantile_head():
    config = apply_overrides(preset("tiny"), ["model.sample_field_head=quantile", "model.sample_field_bins=16"])
    model = build_model(config.model)
    origins, directions, view = rays(32, seed=1)
    outputs = model(Rays.from_numpy(origins, directions, view), RenderSettings(2.0, 6.0, True))
    loss = model.loss(outputs, jt.array(np.full((32, 3), 0.3, np.float32)))
    head = model.sampler.sample_field.head
    grads = jt.grad(loss, [head.weight, head.bias])
    norms = [float(np.abs(g.numpy()).sum()) for g in grads]
    assert all(np.isfinite(norms)) and all(n > 0 for n in norms)


def test_set_points_per_ray_changes_rendering_n_only_for_the_quantile_head():
    config = apply_overrides(preset("tiny"), ["model.sample_field_head=quantile"])
    model = build_model(config.model)
    origins, directions, view = rays(6)
    assert model.points_per_ray == 8
    model.set_points_per_ray(13)
    assert model.points_per_ray == 13
    assert model(Rays.from_numpy(origins, directions, view), RenderSettings(2.0, 6.0, True))["z"].shape == [6, 13]
    with pytest.raises(InputError, match="at least 2"):
        model.set_points_per_ray(1)
    paper = build_model(preset("tiny").model)
    with pytest.raises(InputError, match="fixed N = 8 .*jneusample extract"):
        paper.set_points_per_ray(4)
    assert paper.points_per_ray == 8


def test_training_steps_draw_n_from_the_choices_reproducibly():
    config = apply_overrides(preset("tiny"), ["model.sample_field_head=quantile", "model.samples_choices=16, 4,8"])
    model = build_model(config.model)
    assert model.sampler.samples_choices == (4, 8, 16)
    drawn = []
    for step in range(40):
        model.sampler.begin_training_step(step, seed=0)
        drawn.append(model.sampler.training_samples)
    assert set(drawn) == {4, 8, 16}
    again = build_model(config.model)
    for step in (0, 17, 39):  # a resumed run (or another MPI rank) draws the same N at the same step
        again.sampler.begin_training_step(step, seed=0)
        assert again.sampler.training_samples == drawn[step]
    origins, directions, view = rays(5)
    batch = Rays.from_numpy(origins, directions, view)
    training = RenderSettings(2.0, 6.0, True, perturb=True)
    model.sampler.begin_training_step(3, seed=0)
    assert model(batch, training)["z"].shape == [5, drawn[3]]
    assert model(batch, RenderSettings(2.0, 6.0, True))["z"].shape == [5, 8]  # rendering: model.n_samples
    assert model.points_per_ray == 8
    assert model.training_points_per_ray == drawn[3]  # what the training log's points/s counts


def test_jitter_moves_training_samples_off_the_bin_centres():
    config = apply_overrides(preset("tiny"), ["model.sample_field_head=quantile"])
    model = build_model(config.model)
    origins, directions, view = rays(200)
    batch = Rays.from_numpy(origins, directions, view)
    jt.set_seed(4)
    z = model(batch, RenderSettings(2.0, 6.0, True, perturb=True))["z"].numpy()
    offsets = (z - 2.0) / 4.0 * 8 - np.arange(8)  # untrained head: t = (k + u)/N exactly
    assert offsets.min() >= -1e-4 and offsets.max() <= 1 + 1e-4 and offsets[:, 0].std() > 0.2
    model.sampler.jitter = False
    z = model(batch, RenderSettings(2.0, 6.0, True, perturb=True))["z"].numpy()
    np.testing.assert_allclose(z, np.tile(2.0 + 4.0 * (np.arange(8) + 0.5) / 8, (200, 1)), atol=1e-5)


def test_flops_count_the_k_wide_head():
    paper = build_model(preset("tiny").model)
    quantile = build_model(apply_overrides(preset("tiny"), ["model.sample_field_head=quantile",
                                                          "model.sample_field_bins=64"]).model)
    assert quantile.flops_per_ray() - paper.flops_per_ray() == 2 * 32 * (64 - 8)  # head 32 → 64 instead of 32 → 8


@pytest.mark.parametrize("share, expected", [
    ("steps", (1 / 3, 1 / 3, 1 / 3)),
    ("points", (4 / 7, 2 / 7, 1 / 7)),  # P(N) ∝ 1/N: every N gets the same share of the queries
    ("inverse_square", (16 / 21, 4 / 21, 1 / 21)),  # P(N) ∝ 1/N²: 1/16, 1/64, 1/256
])
def test_shares_draw_n_in_their_proportions_reproducibly(share, expected):
    config = apply_overrides(preset("tiny"), ["model.sample_field_head=quantile", "model.samples_choices=4,8,16",
                                              f"model.samples_choices_share={share}"])
    model = build_model(config.model)
    drawn = []
    for step in range(3000):
        model.sampler.begin_training_step(step, seed=0)
        drawn.append(model.sampler.training_samples)
    assert [drawn.count(n) / len(drawn) for n in (4, 8, 16)] == pytest.approx(expected, abs=0.03)
    again = build_model(config.model)
    again.sampler.begin_training_step(1234, seed=0)  # keyed by (seed, step) alone: a resumed run draws the same N
    assert again.sampler.training_samples == drawn[1234]
