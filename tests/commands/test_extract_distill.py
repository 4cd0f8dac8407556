"""`jneusample extract` with distillation (extract.head_init=quantiles, extract.distill=coverage) on the tiny run."""
import json

import numpy as np

from conftest import error_line
from jneusample.platform.checkpoint import checkpoint_path, load_checkpoint
from jneusample.cli import main
from jneusample.data import load_scene
from jneusample.samplers.stratified import unit_positions
from jneusample.training.extract import pooled_start_distances
from jneusample.rendering import render_image, render_settings
from jneusample.platform.runs import load_run, read_scene_info

DISTILLED = ["--set", "extract.head_init=quantiles", "--set", "extract.distill=coverage"]


def extract(parent, out, samples: int, steps: int, *extra: str) -> int:
    return main(["extract", "--run", str(parent), "--samples", str(samples), "--steps", str(steps),
                 "--out", str(out), "--no-progress", *extra])


def test_distilled_extraction_starts_at_the_parents_pooled_quantiles_and_fine_tunes(run_dir, tmp_path):
    out = tmp_path / "distilled"
    assert extract(run_dir, out, 4, 4, *DISTILLED) == 0
    config = json.loads((out / "config.json").read_text())["extract"]
    assert config["head_init"] == "quantiles" and config["distill"] == "coverage"
    parent = load_run(run_dir)
    info = read_scene_info(run_dir)
    scene = load_scene(info.data, factor=parent.config.data.factor, quiet=True)
    # the step-0 head: its bias is the logit of the pooled start (the same draw of rays gives the same start)
    start_z = pooled_start_distances(parent.model, scene, load_run(out).config, 4)
    assert np.all(np.diff(start_z) > 0) and scene.near <= start_z[0] and start_z[-1] <= scene.far
    t = np.clip(unit_positions(start_z, scene.near, scene.far), 1e-3, 1 - 1e-3)
    start = load_run(out, checkpoint_path(out, 0))
    np.testing.assert_allclose(start.model.sampler.sample_field.head.bias.numpy(), np.log(t / (1 - t)), atol=1e-5)
    # ... so every ray starts near those distances (the fresh weights are small)
    image = render_image(start.model, scene, scene.split("test").c2w[0], render_settings(scene, start.config, False),
                         1 << 14, keep=("z",))
    z = image["z"].reshape(-1, 4)
    assert np.abs(z.mean(0) - start_z).max() < 0.1 * (scene.far - scene.near)
    child = load_run(out)
    assert child.step == 4 and child.model.points_per_ray == 4
    assert not np.array_equal(child.model.sampler.sample_field.head.bias.numpy(), start.model.sampler.sample_field.head.bias.numpy())
    assert main(["eval", "--run", str(out), "--lpips", "none", "--no-progress", "--no-images"]) == 0


def test_distilled_extraction_resumes_bit_exactly_without_repeating_its_settings(run_dir, tmp_path):
    once, twice = tmp_path / "once", tmp_path / "twice"
    assert extract(run_dir, once, 3, 6, *DISTILLED) == 0
    assert extract(run_dir, twice, 3, 3, *DISTILLED) == 0
    assert extract(run_dir, twice, 3, 6, "--resume") == 0  # the saved config keeps head_init and distill
    assert json.loads((twice / "config.json").read_text())["extract"]["distill"] == "coverage"
    for step in (0, 6):  # the same start (the fresh head's weights come from train.seed) and the same end
        a, b = (load_checkpoint(checkpoint_path(run, step))["model"] for run in (once, twice))
        assert a.keys() == b.keys()
        for name in a:
            assert np.array_equal(a[name], b[name]), (step, name)


def test_extract_set_refuses_the_parents_model_keys_and_unknown_choices(run_dir, tmp_path, capsys):
    assert extract(run_dir, tmp_path / "a", 3, 2, "--set", "model.n_samples=5") == 2
    assert "keeps the parent's model" in error_line(capsys.readouterr().err)
    assert extract(run_dir, tmp_path / "b", 3, 2, "--set", "extract.distill=teacher") == 2
    assert "extract.distill must be" in error_line(capsys.readouterr().err)
    assert extract(run_dir, tmp_path / "c", 3, 2, "--set", "extract.parent=/elsewhere") == 2
    assert "parent link" in error_line(capsys.readouterr().err)
