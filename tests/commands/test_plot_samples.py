"""The ``plot-samples`` subcommand and :mod:`jneusample.outputs.plots`: the PNG, the pixel choice, input errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import error_line  # noqa: F401  (shared helper)
from jneusample.cli import main

REPO = Path(__file__).resolve().parents[2]




def test_png_written(run_dir, tmp_path, capsys):
    out = tmp_path / "figs" / "samples.png"
    assert main(["plot-samples", "--run", str(run_dir), "--view", "1", "--pixels", "5", "--out", str(out)]) == 0
    assert out.stat().st_size > 20_000  # a real figure, not an empty canvas
    image = np.asarray(Image.open(out).convert("L"))
    assert image.shape[0] > 500 and image.shape[1] > 1000 and image.std() > 10
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["figure"] == str(out) and summary["view"] == 1 and len(summary["pixels"]) == 5
    assert summary["samples_per_ray"] == 8 and summary["background"].count(True) == 1


def test_default_output_in_run_dir(run_dir):
    assert main(["plot-samples", "--run", str(run_dir), "--pixels", "1", "--dpi", "40"]) == 0
    assert (run_dir / "samples_test_0.png").stat().st_size > 0


def test_library_function(run_dir):
    from matplotlib.figure import Figure

    from jneusample.outputs.plots import plot_samples, study_samples

    study = study_samples(run_dir, view=0, pixels=3, bins=10)
    assert study.z.shape == study.weights.shape == (3, 8)
    assert np.all(np.diff(study.z, axis=1) >= 0) and study.z.min() >= study.near and study.z.max() <= study.far
    assert study.sample_counts.sum() == 64 * 64 * 8
    assert study.weight_mass.sum() == pytest.approx(study.acc.sum(), rel=1e-3)
    assert isinstance(plot_samples(run_dir, pixels=2), Figure)


def test_a_background_painted_at_the_far_bound_is_background():
    """A model may render a white background as an opaque wall at the far bound: acc is 1 everywhere, and only
    the depth tells the object (before it) from the background (at it)."""
    from jneusample.outputs.plots import choose_pixels, object_opacity

    acc = np.ones((32, 32), np.float32)
    depth = np.full((32, 32), 6.0, np.float32)  # far = 6
    depth[8:24, 8:24] = 3.5  # the object
    opacity = object_opacity(acc, depth, near=2.0, far=6.0)
    assert opacity[16, 16] == 1.0 and opacity[0, 0] == 0.0
    pixels, background = choose_pixels(opacity, 6)
    on_object = depth[pixels[:, 0], pixels[:, 1]] < 6.0
    assert on_object.tolist() == (~background).tolist() and background.sum() == 2


def test_choose_pixels_object_and_background():
    from jneusample.outputs.plots import choose_pixels

    acc = np.zeros((32, 32), np.float32)
    acc[8:24, 8:24] = 1.0  # the object
    pixels, background = choose_pixels(acc, 6)
    assert pixels.shape == (6, 2) and background.tolist() == [False] * 4 + [True] * 2
    values = acc[pixels[:, 0], pixels[:, 1]]
    assert np.all(values[~background] == 1.0) and np.all(values[background] == 0.0)
    assert len({tuple(p) for p in pixels}) == 6
    one, bg = choose_pixels(acc, 1)
    assert one.shape == (1, 2) and not bg[0] and acc[one[0, 0], one[0, 1]] == 1.0
    # a uniform image still gives distinct pixels
    flat, _ = choose_pixels(np.full((4, 4), 0.5, np.float32), 6)
    assert len({tuple(p) for p in flat}) == 6


@pytest.mark.parametrize("argv, message", [
    (["--view", "99"], "--view 99"),
    (["--pixels", "0"], "--pixels"),
    (["--split", "nope"], "no split 'nope'"),
    (["--out", "{tmp}/figure.jpg"], "must be a .png"),
    (["--out", "{tmp}/afile/figure.png"], "not writable"),
])
def test_bad_inputs(run_dir, tmp_path, capsys, argv, message):
    (tmp_path / "afile").write_text("not a folder")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "f.png")]
    assert main(["plot-samples", "--run", str(run_dir), *argv]) == 2
    assert message in error_line(capsys.readouterr().err)
    assert not (tmp_path / "f.png").exists()


def test_bad_run_dir(tmp_path, capsys):
    assert main(["plot-samples", "--run", str(tmp_path / "missing"), "--out", str(tmp_path / "f.png")]) == 2
    assert "does not exist" in error_line(capsys.readouterr().err)
    assert main(["plot-samples", "--run", str(tmp_path), "--out", str(tmp_path / "f.png")]) == 2
    assert "config.json: missing" in error_line(capsys.readouterr().err)
