"""jneusample.evaluation.placement and `jneusample placement`: spread across rays and the own-vs-mean gap."""
import json

import numpy as np
import pytest

from conftest import JNEUSAMPLE, error_line, failure_output, run_command
from jneusample.platform.backend import jt  # noqa: F401
from jneusample.config import preset
from jneusample.models.registry import build_model
from jneusample.rendering import Rays, RenderSettings


def _rays(count: int) -> Rays:
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(count, 3)).astype(np.float32)
    return Rays.from_numpy(rng.normal(size=(count, 3)).astype(np.float32), directions,
                           directions / np.linalg.norm(directions, axis=1, keepdims=True))


@pytest.mark.parametrize("interval_encoding, rays", [(False, 5), (True, 5), (True, 4096)])
def test_a_fixed_placement_gives_every_ray_the_same_samples(interval_encoding, rays):
    """(With the interval encoding, Jittor 1.3.11 segfaulted when the placement was a broadcast Var.)"""
    config = preset("tiny")
    config.model.sample_field_init = "default"  # random head: each ray its own samples
    config.model.interval_encoding = interval_encoding
    model = build_model(config.model)
    settings = RenderSettings(near=2.0, far=6.0, white_background=True)
    own = model(_rays(rays), settings)
    assert own["z"].numpy().std(axis=0).mean() > 1e-3
    model.sampler.fixed_placement = np.linspace(0.1, 0.9, config.model.n_samples)
    fixed = model(_rays(rays), settings)
    np.testing.assert_allclose(fixed["z"].numpy(), np.tile(2.0 + 4.0 * model.sampler.fixed_placement, (rays, 1)),
                               rtol=1e-6)
    assert np.isfinite(fixed["color"].numpy()).all()


def test_placement_command_reports_both_psnrs_and_the_spread(run_dir, tmp_path):
    out = tmp_path / "placement.json"
    result = run_command(JNEUSAMPLE + ["placement", "--run", str(run_dir), "--skip", "4", "--out", str(out)])
    assert result.returncode == 0, failure_output(result)
    study = json.loads(out.read_text())
    assert study["views"] == 2 and study["rays"] == 2 * 64 * 64 and study["n_samples"] == 8
    assert study["own_minus_mean_db"] == pytest.approx(study["own_psnr"] - study["mean_placement_psnr"])
    assert len(study["mean_t"]) == 8 and all(0 <= t <= 1 for t in study["mean_t"])
    assert study["spread_across_rays"] >= 0
    # the eval of the same views reports the same PSNR as the own-samples render
    evaluated = run_command(JNEUSAMPLE + ["eval", "--run", str(run_dir), "--skip", "4", "--lpips", "none",
                                          "--no-images", "--no-progress", "--out", str(tmp_path / "eval")])
    assert evaluated.returncode == 0, failure_output(evaluated)
    psnr = json.loads((tmp_path / "eval" / "results.json").read_text())["psnr"]
    assert study["own_psnr"] == pytest.approx(psnr, abs=1e-3)


def test_placement_refuses_a_model_without_a_sample_field(tmp_path):
    run = tmp_path / "strat"
    trained = run_command(JNEUSAMPLE + ["train", "--preset", "tiny", "--steps", "2", "--model", "stratified",
                                        "--out", str(run), "--no-progress"])
    assert trained.returncode == 0, failure_output(trained)
    result = run_command(JNEUSAMPLE + ["placement", "--run", str(run)])
    assert result.returncode == 2
    assert error_line(result.stderr) == f"error: {run}: a stratified model has no sample field to study"


def test_placement_command_on_a_run_with_the_interval_encoding(tmp_path):
    run = tmp_path / "ie"
    trained = run_command(JNEUSAMPLE + ["train", "--preset", "tiny", "--steps", "2", "--set",
                                        "model.interval_encoding=true", "--out", str(run), "--no-progress"])
    assert trained.returncode == 0, failure_output(trained)
    result = run_command(JNEUSAMPLE + ["placement", "--run", str(run), "--skip", "4", "--out", str(tmp_path / "p.json")])
    assert result.returncode == 0, failure_output(result)
    study = json.loads((tmp_path / "p.json").read_text())
    assert np.isfinite(study["mean_placement_psnr"]) and np.isfinite(study["own_psnr"])
