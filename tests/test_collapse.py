"""jneusample.collapse: the share of samples at the rays' ends, and the reset of a collapsed sample field."""
import numpy as np
import pytest

from jneusample.backend import jt
from jneusample.collapse import SAMPLES_AT_ENDS_WARNING, reset_if_collapsed, samples_at_ends
from jneusample.config import preset
from jneusample.models import build_model
from jneusample.optim import make_optimizer, param_groups


def test_samples_at_ends_counts_distances_within_a_thousandth_of_the_ends():
    # near 2, far 6: margin 0.004; 2.0, 2.004 and 6.0 are at the ends, 2.0041, 4 and 5.99 are not
    z = np.array([[2.0, 2.004, 2.0041], [4.0, 5.99, 6.0]])
    assert samples_at_ends(z, 2.0, 6.0) == pytest.approx(3 / 6)


def _model_and_optimizer(kind: str):
    config = preset("tiny")
    config.model.kind = kind
    model = build_model(config.model)
    optimizer = make_optimizer(param_groups(model, config))
    loss = sum((p * p).sum() for p in model.parameters())
    optimizer.step(loss)  # non-zero Adam moments everywhere
    return model, optimizer


def test_a_collapse_resets_the_head_and_its_moments_only():
    model, optimizer = _model_and_optimizer("neusample")
    head = model.sample_field.head
    trunk_before = [p.numpy().copy() for p in model.sample_field.trunk.parameters()]
    collapsed = jt.array(np.array([[2.0, 2.0, 6.0, 6.0], [2.0, 6.0, 6.0, 4.0]], np.float32))  # 7 of 8 at the ends
    assert reset_if_collapsed(model, optimizer, collapsed, 2.0, 6.0) == pytest.approx(7 / 8)
    assert not head.weight.numpy().any()
    n = model.sample_field.n_samples
    np.testing.assert_allclose(1 / (1 + np.exp(-head.bias.numpy())), (np.arange(n) + 0.5) / n, rtol=1e-5)
    moments = {id(p): (m, v) for g in optimizer.param_groups for p, m, v in zip(g["params"], g["m"], g["values"])}
    assert not moments[id(head.weight)][0].numpy().any() and not moments[id(head.bias)][1].numpy().any()
    some_trunk = next(iter(model.sample_field.trunk.parameters()))
    assert moments[id(some_trunk)][1].numpy().any()  # the rest keeps its moments ...
    for before, after in zip(trunk_before, model.sample_field.trunk.parameters()):
        assert np.array_equal(before, after.numpy())  # ... and its values


def test_no_reset_below_the_threshold_or_without_a_learnt_sampler():
    model, optimizer = _model_and_optimizer("neusample")
    bias = model.sample_field.head.bias.numpy().copy()
    healthy = jt.array(np.array([[2.0, 3.0, 4.0, 6.0]], np.float32))  # half at the ends: not more than half
    assert SAMPLES_AT_ENDS_WARNING == 0.5 and reset_if_collapsed(model, optimizer, healthy, 2.0, 6.0) is None
    assert np.array_equal(model.sample_field.head.bias.numpy(), bias)
    nerf, nerf_optimizer = _model_and_optimizer("nerf")
    assert reset_if_collapsed(nerf, nerf_optimizer, jt.array(np.full((2, 4), 2.0, np.float32)), 2.0, 6.0) is None
