import numpy as np

from jneusample.platform.backend import jt
from jneusample.rendering import RenderSettings, composite, exclusive_cumsum, interval_variances, render_weights


def test_exclusive_cumsum():
    x = jt.array(np.array([[1.0, 2.0, 3.0, 4.0]], np.float32))
    np.testing.assert_allclose(exclusive_cumsum(x).numpy(), [[0.0, 1.0, 3.0, 6.0]])


def test_composite_matches_hand_computed_weights():
    # One ray, three samples at z = 2, 3, 5 along d with |d| = 2; densities 0.5, relu(-1) = 0, 1.
    z = np.array([[2.0, 3.0, 5.0]], np.float32)
    d = np.array([[0.0, 0.0, -2.0]], np.float32)
    sigma = np.array([[0.5, -1.0, 1.0]], np.float32)
    rgb = np.array([[[1, 0, 0], [0, 1, 0], [0, 0, 1]]], np.float32)
    deltas = np.array([1.0 * 2, 2.0 * 2, 2e10 * 2])
    alpha = 1 - np.exp(-np.maximum(sigma[0], 0) * deltas)  # [1 - e^-1, 0, 1]
    transmittance = np.array([1.0, 1 - alpha[0], (1 - alpha[0]) * (1 - alpha[1])])
    weights = alpha * transmittance
    assert np.isclose(weights.sum(), 1.0)
    settings = RenderSettings(near=2.0, far=6.0, white_background=False)
    out = composite(jt.array(sigma), jt.array(rgb), jt.array(z), jt.array(d), settings)
    np.testing.assert_allclose(out["weights"].numpy()[0], weights, rtol=1e-5)
    np.testing.assert_allclose(out["color"].numpy()[0], weights @ rgb[0], rtol=1e-5)
    np.testing.assert_allclose(out["depth"].numpy()[0], weights @ z[0], rtol=1e-5)
    np.testing.assert_allclose(out["acc"].numpy()[0], 1.0, rtol=1e-5)


def test_white_background_fills_what_is_not_opaque():
    z = jt.array(np.array([[2.0, 3.0]], np.float32))
    d = jt.array(np.array([[0.0, 0.0, -1.0]], np.float32))
    zero_density = jt.array(np.full((1, 2), -5.0, np.float32))
    rgb = jt.array(np.zeros((1, 2, 3), np.float32))
    white = composite(zero_density, rgb, z, d, RenderSettings(2.0, 6.0, True))
    black = composite(zero_density, rgb, z, d, RenderSettings(2.0, 6.0, False))
    np.testing.assert_allclose(white["color"].numpy(), [[1.0, 1.0, 1.0]])
    np.testing.assert_allclose(black["color"].numpy(), [[0.0, 0.0, 0.0]])


def test_noise_is_added_before_the_relu():
    tau = jt.array(np.array([[0.0, 1.0]], np.float32))
    np.testing.assert_allclose(render_weights(tau).numpy(), [[0.0, 1 - np.exp(-1.0)]], rtol=1e-6)
    z = jt.array(np.array([[2.0, 3.0]], np.float32))
    d = jt.array(np.array([[0.0, 0.0, -1.0]], np.float32))
    sigma = jt.array(np.array([[-1.0, -1.0]], np.float32))
    rgb = jt.array(np.ones((1, 2, 3), np.float32))
    noise = jt.array(np.array([[2.0, 0.0]], np.float32))  # lifts the first density to 1
    out = composite(sigma, rgb, z, d, RenderSettings(2.0, 6.0, False), noise=noise)
    np.testing.assert_allclose(out["weights"].numpy()[0], [1 - np.exp(-1.0), 0.0], rtol=1e-5)


def test_density_activations_hand_computed():
    from jneusample.rendering import activate_density

    raw = np.array([[-30.0, -1.0, 0.0, 1.0, 3.0, 60.0]], np.float32)
    relu = activate_density(jt.array(raw), "relu").numpy()
    np.testing.assert_allclose(relu, np.maximum(raw, 0))
    soft = activate_density(jt.array(raw), "softplus").numpy()
    # softplus(x − 1) = log(1 + e^(x−1)): e.g. raw 0 → log(1 + 1/e) = 0.313262, raw 1 → log 2
    expected = np.log1p(np.exp(raw.astype(np.float64) - 1.0))
    np.testing.assert_allclose(soft, expected, rtol=1e-5, atol=1e-12)
    assert np.isfinite(soft).all() and soft[0, -1] == np.float32(59.0)  # no overflow for large raw values


def test_softplus_density_passes_gradient_where_relu_is_dead():
    from jneusample.rendering import activate_density

    raw = jt.array(np.array([[-2.0, -0.5]], np.float32))
    assert np.all(jt.grad(activate_density(raw, "relu").sum(), raw).numpy() == 0)
    grad = jt.grad(activate_density(raw, "softplus").sum(), raw).numpy()
    np.testing.assert_allclose(grad, 1 / (1 + np.exp(-(np.array([[-2.0, -0.5]]) - 1))), rtol=1e-5)


def test_composite_uses_the_settings_density_activation():
    z = np.array([[2.0, 3.0]], np.float32)
    d = np.array([[0.0, 0.0, -1.0]], np.float32)
    sigma = np.array([[0.0, 0.0]], np.float32)
    rgb = np.zeros((1, 2, 3), np.float32)
    relu = composite(jt.array(sigma), jt.array(rgb), jt.array(z), jt.array(d),
                     RenderSettings(near=2.0, far=6.0, white_background=False))
    soft = composite(jt.array(sigma), jt.array(rgb), jt.array(z), jt.array(d),
                     RenderSettings(near=2.0, far=6.0, white_background=False, density_activation="softplus"))
    assert relu["acc"].numpy()[0] == 0.0
    # σ = log(1 + 1/e) on both samples; the last interval is 'infinite', so the ray ends opaque
    np.testing.assert_allclose(soft["acc"].numpy()[0], 1.0, rtol=1e-6)
    first_alpha = 1 - np.exp(-np.log1p(np.exp(-1.0)) * 1.0)
    np.testing.assert_allclose(soft["weights"].numpy()[0, 0], first_alpha, rtol=1e-5)


def test_interval_variances_hand_computed():
    z = jt.array(np.array([[2.0, 3.0, 5.0, 6.0]], np.float32))
    d = jt.array(np.array([[1.0, -2.0, 0.0]], np.float32))
    out = interval_variances(z, d).numpy()
    spans = np.array([1.0, 1.5, 1.5, 1.0])  # midpoint bins; the ends take their one gap
    expected = (spans ** 2 / 12.0)[:, None] * np.array([1.0, 4.0, 0.0])[None, :]
    np.testing.assert_allclose(out[0], expected, rtol=1e-6)
    assert interval_variances(jt.array(np.array([[3.0]], np.float32)), d).numpy().tolist() == [[[0.0, 0.0, 0.0]]]
