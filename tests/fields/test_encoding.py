import numpy as np

from jneusample.backend import jt
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
