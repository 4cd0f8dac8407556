import numpy as np

from jneusample.platform.backend import jt
from jneusample.fields.encoding import encoded_dims, positional_encoding


def test_layout_and_values_match_the_formula():
    x = np.array([[0.3, -1.2, 2.0]], np.float32)
    out = positional_encoding(jt.array(x), 3).numpy()
    assert out.shape == (1, encoded_dims(3)) == (1, 21)
    expected = [x[0]]
    for k in range(3):  # input first, then sin and cos per frequency 2^k, no pi factor
        expected += [np.sin(2.0**k * x[0]), np.cos(2.0**k * x[0])]
    np.testing.assert_allclose(out[0], np.concatenate(expected), rtol=1e-5, atol=1e-6)


def test_scale_divides_the_input_and_zero_frequencies_is_identity():
    x = jt.array(np.array([[32.0, 64.0, -32.0]], np.float32))
    np.testing.assert_allclose(positional_encoding(x, 0, scale=32.0).numpy(), [[1.0, 2.0, -1.0]])
    assert positional_encoding(jt.zeros((5, 2, 3)), 10).shape == [5, 2, 63]


def test_attenuated_blocks_are_the_expected_encoding_over_a_gaussian():
    from jneusample.fields.encoding import attenuate_blocks, positional_encoding_blocks
    x = np.array([[0.3, -1.2, 2.0], [1.0, 0.5, -0.25]], np.float32)
    variances = np.array([[0.0, 0.01, 0.25], [0.04, 0.0, 1e-4]], np.float32)
    encoded = positional_encoding_blocks(jt.array(x), 2)
    out = attenuate_blocks(encoded, jt.array(variances), 2).numpy()
    # hand-computed: column blocks [x, sin(x), sin(2x), cos(x), cos(2x)]; frequency ω scales by exp(−ω²s²/2)
    for p in range(2):
        s2 = variances[p]
        expected = [x[p], np.sin(x[p]) * np.exp(-0.5 * s2), np.sin(2 * x[p]) * np.exp(-2.0 * s2),
                    np.cos(x[p]) * np.exp(-0.5 * s2), np.cos(2 * x[p]) * np.exp(-2.0 * s2)]
        np.testing.assert_allclose(out[p], np.concatenate(expected), rtol=1e-5, atol=1e-6)
    # Monte Carlo check of the identity E[sin(ωx)] = sin(ωμ)·exp(−ω²s²/2) the function rests on
    rng = np.random.default_rng(0)
    draws = 2.0 + 0.5 * rng.standard_normal(400_000)
    assert abs(np.sin(2 * draws).mean() - np.sin(4.0) * np.exp(-2.0 * 0.25)) < 5e-3
