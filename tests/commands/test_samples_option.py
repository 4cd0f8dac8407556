"""``--samples N`` of eval, render and plot-samples: any N from one quantile-head run; a one-line error naming the
run for a paper-head run (whose N is fixed)."""
import json
import math

import pytest

from conftest import error_line
from jneusample.cli import main
from jneusample.config import apply_overrides, preset
from jneusample.data import DEMO_SCENE, load_scene
from jneusample.platform.runs import write_config
from jneusample.training.trainer import train


@pytest.fixture(scope="module")
def quantile_run(tmp_path_factory):
    """6 tiny steps of the quantile head, each step at N = 4 or 8."""
    run = tmp_path_factory.mktemp("quantile") / "run"
    config = apply_overrides(preset("tiny"), ["model.sample_field_head=quantile", "model.sample_field_bins=16",
                                              "model.samples_choices=4,8", "data.factor=4", "train.steps=6",
                                              "train.checkpoint_every=6"])
    scene = load_scene(DEMO_SCENE, factor=4, quiet=True)
    result = train(config, scene, run, progress=False,
                   scene_info={"data": str(DEMO_SCENE), "format": "blender", "factor": 4})
    assert result.step == 6 and math.isfinite(result.train_psnr)
    return run


def test_training_logged_finite_losses(quantile_run):
    records = [json.loads(line) for line in (quantile_run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    assert losses and all(0 <= loss < 10 for loss in losses)


def test_eval_at_another_n(quantile_run, capsys):
    import numpy as np

    from jneusample.evaluation.metrics.psnr import psnr_from_mse
    from jneusample.rendering import render_image, render_settings
    from jneusample.platform.runs import load_run

    assert main(["eval", "--run", str(quantile_run), "--samples", "5", "--skip", "4", "--lpips", "none",
                 "--no-images", "--no-progress"]) == 0
    at_5 = json.loads((quantile_run / "eval_test_n5" / "results.json").read_text())  # default out: _n5
    assert at_5["points_per_ray"] == 5
    assert main(["eval", "--run", str(quantile_run), "--skip", "4", "--lpips", "none", "--no-images",
                 "--no-progress"]) == 0
    at_8 = json.loads((quantile_run / "eval_test" / "results.json").read_text())
    assert at_8["points_per_ray"] == 8
    # the N = 5 report is the model rendered with 5 samples per ray: recompute its first image here
    run = load_run(quantile_run, samples=5)
    scene = load_scene(DEMO_SCENE, factor=4, quiet=True)
    views = scene.split("test")
    image = render_image(run.model, scene, views.c2w[0], render_settings(scene, run.config, training=False),
                         run.config.render.chunk_points)["color"]
    expected = psnr_from_mse(float(np.mean((image - views.images[0]) ** 2)))
    assert at_5["per_image"][0]["psnr"] == pytest.approx(expected, abs=1e-4)
    assert at_5["psnr"] != at_8["psnr"]  # other samples, another image
    capsys.readouterr()


def test_render_and_plot_samples_at_another_n(quantile_run, tmp_path, capsys):
    pngs = tmp_path / "frames"
    assert main(["render", "--run", str(quantile_run), "--samples", "6", "--path", "test", "--frames", "1",
                 "--out", str(tmp_path / "v.mp4"), "--png-dir", str(pngs), "--no-progress"]) == 0
    assert (pngs / "0000_rgb.png").is_file()
    capsys.readouterr()
    assert main(["plot-samples", "--run", str(quantile_run), "--samples", "7", "--pixels", "2", "--dpi", "40"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["samples_per_ray"] == 7 and summary["figure"].endswith("samples_test_0_n7.png")


def test_too_few_samples_is_one_line(quantile_run, tmp_path, capsys):
    assert main(["eval", "--run", str(quantile_run), "--samples", "1", "--out", str(tmp_path / "e")]) == 2
    assert "at least 2" in error_line(capsys.readouterr().err)


@pytest.mark.parametrize("command", [
    ["eval", "--lpips", "none"],
    ["render", "--path", "test", "--png-dir", "PNGS"],
    ["plot-samples"],
])
def test_samples_on_a_paper_head_run_is_one_line_naming_the_run(command, tmp_path, capsys):
    run = tmp_path / "paper_run"
    run.mkdir()
    write_config(run, preset("tiny"))  # the error comes before any checkpoint is read
    argv = [str(tmp_path / "pngs") if item == "PNGS" else item for item in command]
    assert main([*argv, "--run", str(run), "--samples", "4"]) == 2
    line = error_line(capsys.readouterr().err)
    assert str(run) in line and "--samples 4" in line and "fixed N = 8" in line and "jneusample extract" in line


def test_too_many_samples_is_one_line_naming_the_limit(quantile_run, tmp_path, capsys):
    assert main(["eval", "--run", str(quantile_run), "--samples", "100000", "--out", str(tmp_path / "e")]) == 2
    line = error_line(capsys.readouterr().err)
    assert str(quantile_run) in line and "at most 4096" in line and "100000" in line
