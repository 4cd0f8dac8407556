"""Fused oneDNN linear layers (inference path) against plain Jittor ops."""
import numpy as np
import pytest

from jneusample.platform.backend import jt
from jneusample.fields import fused
from jneusample.fields.mlp import SkipMLP

needs_fused = pytest.mark.skipif(not fused._enabled_here(), reason="fused path needs Jittor's oneDNN on the CPU")


def test_no_fused_path_when_gradients_are_wanted():
    x, w, b = jt.ones((4, 3)), jt.ones((2, 3)), jt.zeros((2,))
    assert fused.fused_linear([(x, w)], b) is None


@needs_fused
@pytest.mark.parametrize("n_terms, relu", [(1, True), (1, False), (2, True)])
def test_fused_linear_matches_numpy(n_terms, relu):
    rng = np.random.default_rng(n_terms)
    xs = [rng.normal(size=(301, k)).astype(np.float32) for k in (7, 19)[:n_terms]]
    ws = [rng.normal(size=(33, k)).astype(np.float32) for k in (7, 19)[:n_terms]]
    b = rng.normal(size=33).astype(np.float32)
    expected = sum(x @ w.T for x, w in zip(xs, ws)) + b
    if relu:
        expected = np.maximum(expected, 0)
    with jt.no_grad():
        got = fused.fused_linear([(jt.array(x), jt.array(w)) for x, w in zip(xs, ws)], jt.array(b), relu)
        assert got is not None
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-4)


@needs_fused
def test_skip_mlp_inference_equals_training_path():
    jt.set_global_seed(0)
    mlp = SkipMLP(in_dims=11, width=48, depth=6)
    x = jt.array(np.random.default_rng(3).normal(size=(257, 11)).astype(np.float32))
    plain = mlp(x).numpy()
    with jt.no_grad():
        quick = mlp(x).numpy()
    np.testing.assert_allclose(quick, plain, rtol=1e-5, atol=1e-5)


def test_fused_path_is_never_chosen_on_cuda(monkeypatch):
    """With the device forced to CUDA the CPU-only oneDNN op is not even compiled: callers get None and take
    Jittor's plain ops (cuBLAS on a GPU), and the result equals the training path."""
    from jneusample.platform import backend

    monkeypatch.setattr(backend, "DEVICE", "cuda")
    monkeypatch.setitem(fused._STATE, "ok", None)
    monkeypatch.setattr(fused, "_self_check", lambda: pytest.fail("the oneDNN op must not be built on CUDA"))
    assert not fused._enabled_here()
    x, w, b = jt.ones((4, 3)), jt.ones((2, 3)), jt.zeros((2,))
    with jt.no_grad():
        assert fused.fused_linear([(x, w)], b) is None
    assert fused._STATE["ok"] is False
    jt.set_global_seed(0)
    mlp = SkipMLP(in_dims=5, width=16, depth=3)
    inputs = jt.array(np.random.default_rng(1).normal(size=(33, 5)).astype(np.float32))
    plain = mlp(inputs).numpy()
    with jt.no_grad():
        np.testing.assert_array_equal(mlp(inputs).numpy(), plain)


def test_fused_path_checks_use_cuda_on_every_call(monkeypatch):
    monkeypatch.setitem(fused._STATE, "ok", True)  # as if the self-check had passed on the CPU earlier

    class Flags:  # Jittor's flags, with use_cuda switched on after the self-check
        no_grad, use_cuda = True, 1

    monkeypatch.setattr(fused.jt, "flags", Flags())
    assert fused.fused_linear([(None, None)], None) is None


def _autograd_reference(xs, ws, b, dy):
    """Gradients of sum(dy · relu(Σ x_i w_iᵀ + b)) by Jittor's own autograd (plain ops)."""
    from jittor import nn

    xv, wv, bv = [jt.array(x) for x in xs], [jt.array(w) for w in ws], jt.array(b)
    y = nn.relu(sum((nn.matmul_transpose(x, w) for x, w in zip(xv[1:], wv[1:])), nn.matmul_transpose(xv[0], wv[0]))
                + bv)
    grads = jt.grad((y * jt.array(dy)).sum(), [v for pair in zip(xv, wv) for v in pair] + [bv])
    return y.numpy(), [g.numpy() for g in grads]


def _random_layer(n_terms, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(129, k)).astype(np.float32) for k in (7, 19)[:n_terms]]
    ws = [rng.normal(size=(24, k)).astype(np.float32) for k in (7, 19)[:n_terms]]
    return xs, ws, rng.normal(size=24).astype(np.float32), rng.normal(size=(129, 24)).astype(np.float32)


@pytest.mark.parametrize("n_terms", [1, 2])
def test_linear_relu_gradients_equal_jittors_autograd(n_terms):
    """The hand-written backward (dy·[y>0], g w, gᵀ x, Σ g) gives Jittor's own gradients, for a plain layer and
    for a skip layer's two terms."""
    xs, ws, b, dy = _random_layer(n_terms)
    want_y, want = _autograd_reference(xs, ws, b, dy)
    xv, wv, bv = [jt.array(x) for x in xs], [jt.array(w) for w in ws], jt.array(b)
    y = fused.linear_relu(list(zip(xv, wv)), bv)
    got = jt.grad((y * jt.array(dy)).sum(), [v for pair in zip(xv, wv) for v in pair] + [bv])
    np.testing.assert_allclose(y.numpy(), want_y, rtol=1e-5, atol=1e-5)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-4, atol=1e-4)


def test_relu_backward_is_the_mask_product():
    x = jt.array(np.array([[-1.0, 0.0, 2.0], [3.0, -4.0, 0.5]], np.float32))
    dy = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]], np.float32)
    grad = jt.grad((fused.relu(x) * jt.array(dy)).sum(), x).numpy()
    np.testing.assert_array_equal(grad, [[0.0, 0.0, 30.0], [40.0, 0.0, 60.0]])  # 0 at x = 0, like Jittor's ReLU


@pytest.mark.skipif(not fused._enabled_here() or not fused.bf16_available(),
                    reason="bfloat16 matmuls need Jittor's oneDNN with bfloat16 support on the CPU")
@pytest.mark.parametrize("n_terms", [1, 2])
def test_bf16_linear_relu_is_within_bfloat16_rounding(n_terms):
    """bfloat16 operands (8 significant bits): the output within ~1 % of float32 (relative to its largest entry),
    never bit-equal to it (so the bfloat16 kernels did run); the gradients are the float32 formulas applied with
    the ReLU mask of that output (an entry near 0 may change sign under rounding, which changes its row of g)."""
    xs, ws, b, dy = _random_layer(n_terms, seed=5)
    want_y, _ = _autograd_reference(xs, ws, b, dy)
    xv, wv, bv = [jt.array(x) for x in xs], [jt.array(w) for w in ws], jt.array(b)
    y = fused.linear_relu(list(zip(xv, wv)), bv, bf16=True)
    got = jt.grad((y * jt.array(dy)).sum(), [v for pair in zip(xv, wv) for v in pair] + [bv])
    y = y.numpy()
    assert not np.array_equal(y, want_y)
    np.testing.assert_allclose(y, want_y, atol=0.01 * np.abs(want_y).max())
    g = dy * (y > 0)
    want = [m for x, w in zip(xs, ws) for m in (g @ w, g.T @ x)] + [g.sum(0)]
    for got_grad, want_grad in zip(got, want):
        np.testing.assert_allclose(got_grad.numpy(), want_grad, atol=0.01 * np.abs(want_grad).max())


@pytest.mark.parametrize("bf16", [False, True])
def test_linear_without_relu_gradients(bf16):
    """``linear`` (the radiance field's density + colour heads): y = x wᵀ + b, dx = dy w, dw = dyᵀ x, db = Σ dy."""
    if bf16 and not (fused._enabled_here() and fused.bf16_available()):
        pytest.skip("bfloat16 matmuls need Jittor's oneDNN with bfloat16 support on the CPU")
    (x,), (w,), b, dy = _random_layer(1, seed=7)
    xv, wv, bv = jt.array(x), jt.array(w), jt.array(b)
    y = fused.linear([(xv, wv)], bv, bf16=bf16)
    got = jt.grad((y * jt.array(dy)).sum(), [xv, wv, bv])
    tolerance = 0.01 if bf16 else 1e-5
    want_y = x @ w.T + b
    np.testing.assert_allclose(y.numpy(), want_y, atol=tolerance * np.abs(want_y).max())
    for got_grad, want_grad in zip(got, [dy @ w, dy.T @ x, dy.sum(0)]):
        np.testing.assert_allclose(got_grad.numpy(), want_grad, atol=tolerance * np.abs(want_grad).max())
