"""The models in pretrained/ (scripts/make_pretrained.py): paths that work on any clone, and they load."""
import json
from pathlib import Path

import pytest

from conftest import REPO

MODELS = sorted(p for p in (REPO / "pretrained").iterdir() if p.is_dir())


def test_there_are_pretrained_models():
    assert {p.name for p in MODELS} >= {"demo"}


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.name)
def test_recorded_paths_are_relative_to_the_repository(model):
    """An absolute path would name the machine that made the model (another clone's folder)."""
    data = json.loads((model / "scene.json").read_text())["data"]
    assert not Path(data).is_absolute(), data
    parent = json.loads((model / "config.json").read_text()).get("extract", {}).get("parent")
    assert parent is None or not Path(parent).is_absolute(), parent


def test_the_demo_model_loads_and_its_scene_is_shipped():
    from jneusample.platform.runs import load_run

    data = json.loads((REPO / "pretrained" / "demo" / "scene.json").read_text())["data"]
    assert (REPO / data / "transforms_train.json").exists()
    run = load_run(REPO / "pretrained" / "demo")
    assert run.step > 0 and run.config.preset == "quick"


def test_the_summary_reports_where_each_neusample_model_samples():
    """Issue 22: pretrained.json gives every shipped NeuSample model's spread across rays and own-vs-mean gap,
    measured by `jneusample placement` on its test views (placement_test.json beside the model)."""
    summary = json.loads((REPO / "benchmarks" / "results" / "pretrained.json").read_text())["models"]
    for model in MODELS:
        if json.loads((model / "config.json").read_text())["model"]["kind"] != "neusample":
            continue
        study = json.loads((model / "placement_test.json").read_text())
        recorded = summary[model.name]["placement"]
        assert recorded["own_minus_mean_db"] == study["own_minus_mean_db"]
        assert recorded["spread_across_rays"] == study["spread_across_rays"] >= 0
        assert recorded["own_psnr"] - recorded["mean_placement_psnr"] == pytest.approx(recorded["own_minus_mean_db"])
