"""NeRF baseline: interface shared with NeuSample, sampling per mode, loss, the preset rule, and training."""
import json

import numpy as np
import pytest

from conftest import JNEUSAMPLE, failure_output, run_command
from jneusample.platform.backend import jt
from jneusample.config import nerf_sample_counts, preset
from jneusample.errors import InputError
from jneusample.models.registry import build_model
from jneusample.rendering import Rays, RenderSettings


def _rays(n=6, seed=0):
    rng = np.random.default_rng(seed)
    origins = np.tile(np.array([[0.0, 0.0, 4.0]], np.float32), (n, 1))
    directions = np.concatenate([rng.uniform(-0.3, 0.3, (n, 2)), -np.ones((n, 1))], 1).astype(np.float32)
    view_dirs = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    return Rays.from_numpy(origins, directions, view_dirs)


def _model(n_coarse=8, n_importance=8):
    config = preset("tiny")
    config.model.kind = "nerf"
    config.model.n_coarse, config.model.n_importance = n_coarse, n_importance
    jt.set_global_seed(0)
    return build_model(config.model)


def test_outputs_shapes_and_points_per_ray():
    model = _model(8, 8)
    assert type(model.sampler).__name__ == "CoarseToFineSampler"
    assert model.points_per_ray == 8 + 16
    with jt.no_grad():
        out = model(_rays(), RenderSettings(near=2.0, far=6.0, white_background=True))
    assert out["color"].shape == [6, 3] and out["coarse_color"].shape == [6, 3]
    assert out["depth"].shape == [6] and out["acc"].shape == [6]
    assert out["weights"].shape == [6, 16] and out["z"].shape == [6, 16]
    z = out["z"].numpy()
    assert np.all(np.diff(z, axis=1) >= 0) and z.min() >= 2.0 - 1e-5 and z.max() <= 6.0 + 1e-5
    # the fine distances contain the (deterministic) coarse ones
    assert np.all(np.isclose(z[:, :, None], np.linspace(2, 6, 8)[None, None]).any(1))


def test_evaluation_is_deterministic_and_training_jitters():
    model = _model()
    rays = _rays()
    evaluation = RenderSettings(near=2.0, far=6.0, white_background=False)
    training = RenderSettings(near=2.0, far=6.0, white_background=False, perturb=True)
    with jt.no_grad():
        a, b = model(rays, evaluation), model(rays, evaluation)
        np.testing.assert_array_equal(a["z"].numpy(), b["z"].numpy())
        jt.set_seed(1)
        c = model(rays, training)
    assert not np.allclose(a["z"].numpy(), c["z"].numpy())


def test_loss_is_fine_plus_coarse_and_trains_both_fields():
    model = _model()
    rays = _rays(32)
    settings = RenderSettings(near=2.0, far=6.0, white_background=True, perturb=True)
    target = jt.array(np.full((32, 3), 0.25, np.float32))
    out = model(rays, settings)
    loss = model.loss(out, target)
    expected = ((out["color"] - target) ** 2).mean() + ((out["coarse_color"] - target) ** 2).mean()
    assert abs(loss.item() - expected.item()) < 1e-6
    grads = jt.grad(loss, [model.sampler.coarse_field.trunk.layers[0].weight,
                      model.radiance_field.trunk.layers[0].weight])
    assert all(float(np.abs(g.numpy()).sum()) > 0 for g in grads)


def test_without_importance_samples_only_the_coarse_field_exists():
    model = _model(8, 0)  # its one field is the model's radiance field, queried at the stratified samples
    assert model.sampler.coarse_field is None and model.points_per_ray == 8
    with jt.no_grad():
        out = model(_rays(), RenderSettings(near=2.0, far=6.0, white_background=True))
    assert out["z"].shape == [6, 8]


def test_too_few_coarse_samples_for_a_pdf_is_an_input_error():
    with pytest.raises(InputError, match="n_coarse"):
        _model(2, 4)


def test_preset_rule_reproduces_nerf_paper_counts_and_scales_with_n_samples():
    assert nerf_sample_counts(192) == (64, 128)
    paper = preset("paper")
    assert (paper.model.n_coarse, paper.model.n_importance) == (64, 128)
    cpu = preset("cpu")
    assert (cpu.model.n_coarse, cpu.model.n_importance) == nerf_sample_counts(cpu.model.n_samples) == (11, 21)
    assert nerf_sample_counts(64) == (21, 43)
    assert sum(nerf_sample_counts(96)) == 96


def test_train_command_trains_nerf_on_the_demo_scene(tmp_path):
    out = tmp_path / "run"
    proc = run_command(JNEUSAMPLE + ["train", "--preset", "tiny", "--model", "nerf", "--steps", "4", "--out", str(out),
                                     "--no-progress"])
    assert proc.returncode == 0, failure_output(proc)
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["step"] == 4 and np.isfinite(summary["train_psnr"])
    assert json.loads((out / "config.json").read_text())["model"]["kind"] == "nerf"
