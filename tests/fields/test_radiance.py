"""The radiance field's fast path (block-ordered encoding, fused feature/colour layers) against the
layer-by-layer definition, in values and in gradients."""
import numpy as np
import pytest

from jneusample.platform.backend import jt  # before jittor itself: the backend decides CPU or CUDA
from jittor import nn  # noqa: E402
from jneusample.fields.encoding import block_order, positional_encoding, positional_encoding_blocks
from jneusample.fields.radiance import RadianceField


def reference(field: RadianceField, points, view_dirs):
    """NeRF's radiance MLP written out layer by layer on the reference encoding layout."""
    rays, n = points.shape[0], points.shape[1]
    x = positional_encoding(points.reshape([rays * n, 3]), field.position_freqs)
    h = x
    for index, layer in enumerate(field.trunk.layers):
        if index == field.trunk.skip and index > 0:
            h = jt.concat([h, x], dim=-1)
        h = nn.relu(layer(h))
    density = field.density_out(h).reshape([rays, n])
    feature = field.feature_out(h)
    view = positional_encoding(view_dirs, field.view_freqs)
    view = view.unsqueeze(1).broadcast([rays, n, view.shape[-1]]).reshape([rays * n, -1])
    hidden = nn.relu(field.color_hidden(jt.concat([feature, view], dim=-1)))
    return density, jt.sigmoid(field.color_out(hidden)).reshape([rays, n, 3])


def _inputs(rays=7, n=5, seed=0):
    rng = np.random.default_rng(seed)
    points = rng.uniform(-4, 4, (rays, n, 3)).astype(np.float32)
    dirs = rng.normal(size=(rays, 3)).astype(np.float32)
    return jt.array(points), jt.array(dirs / np.linalg.norm(dirs, axis=1, keepdims=True))


def test_block_encoding_is_a_column_permutation_of_the_reference():
    x = jt.array(np.random.default_rng(1).uniform(-6, 6, (50, 3)).astype(np.float32))
    blocks, ref = positional_encoding_blocks(x, 10).numpy(), positional_encoding(x, 10).numpy()
    order = block_order(10)
    assert sorted(order.tolist()) == list(range(63))
    np.testing.assert_allclose(blocks, ref[:, order], atol=1e-6)


@pytest.mark.parametrize("width, depth", [(32, 4), (64, 8)])
def test_fast_path_matches_the_layer_by_layer_field(width, depth):
    jt.set_global_seed(0)
    field = RadianceField(width=width, depth=depth, position_freqs=10, view_freqs=4)
    points, dirs = _inputs()
    density, color = field(points, dirs)
    ref_density, ref_color = reference(field, points, dirs)
    np.testing.assert_allclose(density.numpy(), ref_density.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(color.numpy(), ref_color.numpy(), rtol=1e-4, atol=1e-6)


def test_fast_path_gradients_match():
    jt.set_global_seed(1)
    field = RadianceField(width=32, depth=4, position_freqs=6, view_freqs=2)
    points, dirs = _inputs(4, 6, seed=2)
    params = [field.trunk.layers[0].weight, field.trunk.layers[2].weight, field.feature_out.weight,
              field.feature_out.bias, field.color_hidden.weight, field.density_out.weight]

    def loss(outputs):
        density, color = outputs
        return (density ** 2).mean() + (color * jt.array(np.linspace(0, 1, 3, dtype=np.float32))).sum()

    fast = jt.grad(loss(field(points, dirs)), params)
    slow = jt.grad(loss(reference(field, points, dirs)), params)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-6)


def test_interval_encoding_is_the_point_encoding_at_zero_spread_and_smooths_with_it():
    jt.set_global_seed(3)
    field = RadianceField(width=32, depth=4, position_freqs=8, view_freqs=2, interval_encoding=True)
    points, dirs = _inputs(3, 4, seed=4)
    density, color = field(points, dirs)
    zero_density, zero_color = field(points, dirs, jt.zeros((3, 4, 3)))
    np.testing.assert_allclose(zero_density.numpy(), density.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(zero_color.numpy(), color.numpy(), rtol=1e-5, atol=1e-6)
    # a huge spread fades every sin/cos column: the field then sees only x, so it differs from the point field
    a, _ = field(points, dirs, jt.full((3, 4, 3), 1e4))
    assert not np.allclose(a.numpy(), density.numpy())
