"""jneusample.training.sampler_reset: a collapsed sample field is reset, its Adam moments cleared."""
import numpy as np
import pytest

from jneusample.platform.backend import jt
from jneusample.samplers.collapse import COLLAPSED_RAYS_RESET, SAMPLES_AT_ENDS_WARNING, samples_at_ends
from jneusample.training.sampler_reset import reset_if_collapsed
from jneusample.config import preset
from jneusample.models.registry import build_model
from jneusample.training.optim import make_optimizer, param_groups


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
    head = model.sampler.sample_field.head
    trunk_before = [p.numpy().copy() for p in model.sampler.sample_field.trunk.parameters()]
    collapsed = jt.array(np.array([[2.0, 2.0, 6.0, 6.0], [2.0, 6.0, 6.0, 4.0]], np.float32))  # 4 and 3 of 4 at the ends
    assert reset_if_collapsed(model, optimizer, collapsed, 2.0, 6.0) == 1.0  # every ray collapsed
    assert not head.weight.numpy().any()
    n = model.sampler.sample_field.n_samples
    np.testing.assert_allclose(1 / (1 + np.exp(-head.bias.numpy())), (np.arange(n) + 0.5) / n, rtol=1e-5)
    moments = {id(p): (m, v) for g in optimizer.param_groups for p, m, v in zip(g["params"], g["m"], g["values"])}
    assert not moments[id(head.weight)][0].numpy().any() and not moments[id(head.bias)][1].numpy().any()
    some_trunk = next(iter(model.sampler.sample_field.trunk.parameters()))
    assert moments[id(some_trunk)][1].numpy().any()  # the rest keeps its moments ...
    for before, after in zip(trunk_before, model.sampler.sample_field.trunk.parameters()):
        assert np.array_equal(before, after.numpy())  # ... and its values



def test_the_reset_clears_the_step_count_of_the_head_only():
    """After a reset in a long run, the head's next update is a fresh Adam's first one: lr per element (the bias's
    gradient 2·bias is far from 0), not ≈ 3.16·lr as with moments bias-corrected for the run's step count."""
    model, optimizer = _model_and_optimizer("neusample")
    optimizer.n_step = 10_000  # Adam's bias correction has faded
    head = model.sampler.sample_field.head
    assert reset_if_collapsed(model, optimizer, jt.array(np.full((10, 4), 6.0, np.float32)), 2.0, 6.0) == 1.0
    bias = head.bias.numpy().copy()
    optimizer.step(sum((p * p).sum() for p in model.parameters()))
    lr = next(g["lr"] for g in optimizer.param_groups if any(p is head.bias for p in g["params"]))
    np.testing.assert_allclose(head.bias.numpy() - bias, -lr * np.sign(bias), rtol=1e-3)



def test_no_reset_below_the_threshold_or_without_a_learnt_sampler():
    model, optimizer = _model_and_optimizer("neusample")
    bias = model.sampler.sample_field.head.bias.numpy().copy()
    healthy = jt.array(np.array([[2.0, 3.0, 4.0, 6.0]], np.float32))  # half at the ends: not more than half
    assert SAMPLES_AT_ENDS_WARNING == 0.5 and reset_if_collapsed(model, optimizer, healthy, 2.0, 6.0) is None
    assert np.array_equal(model.sampler.sample_field.head.bias.numpy(), bias)
    # 80 % background rays with every sample at the far end, 20 % healthy: half the samples and more at the ends,
    # but not (nearly) every ray collapsed
    rays = np.tile(np.linspace(2.5, 5.5, 4, dtype=np.float32), (10, 1))
    rays[:8] = 6.0
    assert samples_at_ends(rays, 2.0, 6.0) == pytest.approx(0.8) and COLLAPSED_RAYS_RESET == 0.9
    assert reset_if_collapsed(model, optimizer, jt.array(rays), 2.0, 6.0) is None
    assert np.array_equal(model.sampler.sample_field.head.bias.numpy(), bias)
    nerf, nerf_optimizer = _model_and_optimizer("nerf")
    assert reset_if_collapsed(nerf, nerf_optimizer, jt.array(np.full((2, 4), 2.0, np.float32)), 2.0, 6.0) is None
