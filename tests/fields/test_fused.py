"""Fused oneDNN linear layers (inference path) against plain Jittor ops."""
import numpy as np
import pytest

from jneusample.backend import jt
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
    from jneusample import backend

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
