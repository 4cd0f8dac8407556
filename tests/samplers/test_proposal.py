"""jneusample.samplers.proposal: the probe pass and the losses that teach the sample field, with hand goldens."""
import numpy as np
import pytest

from jneusample.platform.backend import jt
from jneusample.config import preset
from jneusample.models.registry import build_model
from jneusample.rendering import Rays, RenderSettings
from jneusample.samplers.proposal import (interlevel_bound_loss, probe_intervals, probe_weights, probed_rays,
    quantile_distillation_loss, weight_quantiles)


def var(values) -> jt.Var:
    return jt.array(np.asarray(values, np.float32))


def test_each_probe_stands_for_the_interval_to_the_next_and_the_last_for_the_rest_of_the_ray():
    lower, upper = probe_intervals(var([[0.1, 0.4, 0.8]]))
    np.testing.assert_allclose(lower.numpy(), [[0.1, 0.4, 0.8]])
    np.testing.assert_allclose(upper.numpy(), [[0.4, 0.8, 1.0]])


def test_bound_loss_is_zero_when_the_histogram_covers_every_weight():
    # 4 bins of 1/4; probes at 0.1, 0.3, 0.6: intervals [0.1, 0.3] (bins 0-1), [0.3, 0.6] (bins 1-2), [0.6, 1] (2-3)
    masses = var([[0.0, 0.9, 0.1, 0.0]])
    loss = interlevel_bound_loss(masses, var([[0.1, 0.3, 0.6]]), var([[0.0, 0.8, 0.1]]))
    assert loss.item() == pytest.approx(0.0, abs=1e-9)


def test_bound_loss_golden_when_a_weight_exceeds_its_bound():
    # interval [0.1, 0.3] overlaps bins 0 and 1: bound 0.1 + 0.2 = 0.3 < w = 0.8 → (0.5)² / 0.8; the other
    # intervals are covered ([0.3, 0.6] → bins 1, 2: 0.2 + 0.3 ≥ 0.1; last [0.6, 1] → bins 2, 3: 0.7 ≥ 0.05)
    masses = var([[0.1, 0.2, 0.3, 0.4]])
    loss = interlevel_bound_loss(masses, var([[0.1, 0.3, 0.6]]), var([[0.8, 0.1, 0.05]]))
    assert loss.item() == pytest.approx(0.25 / 0.8, rel=1e-5)


def test_bound_loss_pulls_mass_towards_the_weights():
    logits = var([[0.0, 0.0, 0.0, 0.0]])
    s, w = var([[0.05, 0.55]]), var([[0.0, 0.9]])  # all the weight on [0.55, 1]: bins 2 and 3
    masses = jt.nn.softmax(logits, dim=1)
    grad = jt.grad(interlevel_bound_loss(masses, s, w), logits).numpy()[0]
    assert grad[2] < 0 and grad[3] < 0 and grad[0] > 0 and grad[1] > 0  # descent raises bins 2-3, lowers 0-1


def test_weight_quantiles_golden():
    # probes at 0.2 and 0.6 with weights 0.5, 0.5: uniform density 1.25 on [0.2, 0.6] and on [0.6, 1.0]
    q = weight_quantiles(var([[0.2, 0.6]]), var([[0.5, 0.5]]), 4).numpy()
    # levels 1/8, 3/8, 5/8, 7/8 → 0.2 + 0.8·level (the 1e-5 floor of inverse_cdf moves them by ~1e-5)
    np.testing.assert_allclose(q, [[0.3, 0.5, 0.7, 0.9]], atol=1e-4)


def test_distillation_loss_is_zero_at_the_quantiles_and_positive_elsewhere():
    s, w = var([[0.2, 0.6]]), var([[0.5, 0.5]])
    target = weight_quantiles(s, w, 4)
    assert quantile_distillation_loss(target, s, w).item() == pytest.approx(0.0, abs=1e-10)
    assert quantile_distillation_loss(target + 0.1, s, w).item() == pytest.approx(0.01, rel=1e-3)


def test_the_probe_pass_is_stratified_and_gradient_free():
    config = preset("tiny")
    model = build_model(config.model)
    rays = Rays.from_numpy(np.zeros((3, 3), np.float32), np.tile([[0, 0, -1.0]], (3, 1)).astype(np.float32),
                           np.tile([[0, 0, -1.0]], (3, 1)).astype(np.float32))
    settings = RenderSettings(near=2.0, far=6.0, white_background=True, density_noise_std=1.0, perturb=True)
    s, w = probe_weights(model.radiance_field, rays, settings, 6)
    assert s.shape == (3, 6) and w.shape == (3, 6)
    assert (np.floor(s.numpy() * 6) == np.arange(6)).all() and (w.numpy() >= 0).all()
    assert s.is_stop_grad() and w.is_stop_grad()


@pytest.mark.parametrize("head", ["paper", "quantile"])
def test_a_training_pass_with_the_proposal_loss_teaches_the_sample_field_only(head, monkeypatch):
    from jneusample.samplers import sample_field as samplers

    real_probe = samplers.probe_weights

    def concentrated(field, rays, settings, n_probes):  # the real pass, then all weight on probe 2 of each ray
        s, w = real_probe(field, rays, settings, n_probes)
        return s, jt.array(np.tile(np.eye(n_probes, dtype=np.float32)[2] * 0.9, (len(rays), 1)))

    monkeypatch.setattr(samplers, "probe_weights", concentrated)  # an untrained field's weights may be covered
    config = preset("tiny")
    config.model.sample_field_head = head
    config.model.sample_field_proposal_loss = 1.0
    config.model.sample_field_probes = 6
    model = build_model(config.model)
    rays = Rays.from_numpy(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32),
                           np.tile([[0, 0, -1.0]], (4, 1)).astype(np.float32),
                           np.tile([[0, 0, -1.0]], (4, 1)).astype(np.float32))
    settings = RenderSettings(near=2.0, far=6.0, white_background=True, perturb=True)
    outputs = model(rays, settings)
    assert outputs["probe_w"].shape == (4, 6) and outputs["sample_t"].shape == (4, config.model.n_samples)
    target = jt.array(np.full((4, 3), 0.5, np.float32))
    photometric = ((outputs["color"] - target) ** 2).mean()
    total = model.loss(outputs, target)
    assert total.item() > photometric.item()  # the proposal term is there
    # the auxiliary term alone moves no radiance-field weight (one jt.grad call: the fused layers keep what their
    # backward needs for one backward pass)
    radiance, field = list(model.radiance_field.parameters()), list(model.sampler.sample_field.parameters())
    grads = jt.grad(total - photometric, radiance + field)
    assert all(not np.abs(g.numpy()).any() for g in grads[:len(radiance)])
    assert any(np.abs(g.numpy()).any() for g in grads[len(radiance):])


def test_probed_rays_are_the_leading_share_of_the_step():
    origins = np.arange(30, dtype=np.float32).reshape(10, 3)
    rays = Rays.from_numpy(origins, origins + 1, origins + 2)
    assert probed_rays(rays, 1.0) is rays
    quarter = probed_rays(rays, 0.25)  # ⌈2.5⌉ = 3
    assert len(quarter) == 3
    np.testing.assert_array_equal(quarter.origins.numpy(), origins[:3])
    np.testing.assert_array_equal(quarter.view_dirs.numpy(), origins[:3] + 2)
    assert len(probed_rays(rays, 0.01)) == 1


@pytest.mark.parametrize("head", ["paper", "quantile"])
def test_a_probe_share_probes_fewer_rays_and_the_loss_uses_their_rows(head):
    config = preset("tiny")
    config.model.sample_field_head = head
    config.model.sample_field_proposal_loss = 1.0
    config.model.sample_field_probes = 6
    config.model.sample_field_probe_share = 0.5
    model = build_model(config.model)
    rays = Rays.from_numpy(np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32),
                           np.tile([[0, 0, -1.0]], (8, 1)).astype(np.float32),
                           np.tile([[0, 0, -1.0]], (8, 1)).astype(np.float32))
    settings = RenderSettings(near=2.0, far=6.0, white_background=True, perturb=True)
    outputs = model(rays, settings)
    assert outputs["probe_w"].shape == (4, 6) and outputs["color"].shape == (8, 3)
    target = jt.array(np.full((8, 3), 0.5, np.float32))
    head_rows = {"sample_t": outputs["sample_t"][:4]}
    if head == "quantile":
        head_rows["sample_masses"] = outputs["sample_masses"][:4]
    expected = (interlevel_bound_loss(head_rows["sample_masses"], outputs["probe_s"], outputs["probe_w"])
                if head == "quantile" else
                quantile_distillation_loss(head_rows["sample_t"], outputs["probe_s"], outputs["probe_w"]))
    photometric = ((outputs["color"] - target) ** 2).mean()
    assert model.loss(outputs, target).item() == pytest.approx(photometric.item() + expected.item(), rel=1e-5)
