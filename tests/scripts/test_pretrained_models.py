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
    from jneusample.runs import load_run

    data = json.loads((REPO / "pretrained" / "demo" / "scene.json").read_text())["data"]
    assert (REPO / data / "transforms_train.json").exists()
    run = load_run(REPO / "pretrained" / "demo")
    assert run.step > 0 and run.config.preset == "quick"
