"""The model registry drives construction, config validation and the CLI; both models implement one interface."""
import argparse
from typing import get_args

import pytest

from jneusample.config import DensityActivation, SampleFieldHead, SampleFieldInit, Schedule, apply_overrides, preset
from jneusample.errors import InputError
from jneusample.models.registry import MODEL_KINDS, MODELS, ModelKind, sampler_class


def test_the_literal_names_the_registered_models():
    assert get_args(ModelKind) == tuple(MODELS) == MODEL_KINDS


@pytest.mark.parametrize("key, choices", [
    ("model.kind", MODEL_KINDS), ("model.sample_field_init", get_args(SampleFieldInit)),
    ("model.sample_field_head", get_args(SampleFieldHead)),
    ("model.density_activation", get_args(DensityActivation)), ("train.schedule", get_args(Schedule)),
])
def test_choice_fields_accept_their_literal_values_only(key, choices):
    for value in choices:
        apply_overrides(preset("tiny"), [f"{key}={value}"])
    with pytest.raises(InputError, match=f"{key} must be .*, got 'bogus'"):
        apply_overrides(preset("tiny"), [f"{key}=bogus"])


def test_train_model_choices_come_from_the_registry():
    from jneusample.commands import train as cmd

    parser = argparse.ArgumentParser()
    cmd.register(parser.add_subparsers())
    action = next(a for a in parser._subparsers._group_actions[0].choices["train"]._actions if a.dest == "model")
    assert tuple(action.choices) == MODEL_KINDS


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_every_model_implements_the_interface(kind):
    from jneusample.models.model import Model
    from jneusample.models.registry import build_model
    from jneusample.samplers.base import Sampler
    from jneusample.training.optim import param_groups

    config = preset("tiny")
    config.model.kind = kind
    model = build_model(config.model)
    assert isinstance(model, Model) and isinstance(model.sampler, sampler_class(kind))
    assert isinstance(model.sampler, Sampler)
    assert model.points_per_ray > 0
    assert 0 < model.flops_per_ray(executed=True) < model.flops_per_ray()
    groups = param_groups(model, config)
    assert sum(len(g.params) for g in groups) == len(list(model.parameters()))
    config.train.sample_field_lr_scale = 0.5  # a group of its own for a sample field only
    names = [g.name for g in param_groups(model, config)]
    assert names == (["radiance_field", "sample_field"] if kind == "neusample" else ["all"])
    config.extract.parent = "/some/parent"
    assert config.extract.is_extraction
    assert [g.name for g in param_groups(model, config)] == ["sample_field", "radiance_field"]
    assert model.sampler.supports_extraction == (kind == "neusample")
    if not model.sampler.supports_extraction:
        with pytest.raises(InputError, match="extraction"):
            model.sampler.prepare_extraction(4)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_render_time_points_per_ray_is_a_model_capability(kind):
    from jneusample.models.registry import build_model

    config = preset("tiny")
    config.model.kind = kind
    model = build_model(config.model)
    before = model.points_per_ray
    model.sampler.begin_training_step(0, seed=0)  # no per-step choices: nothing changes
    assert model.training_points_per_ray == before
    if kind == "stratified":  # no weights decide where its samples go: any N
        model.set_points_per_ray(before + 1)
        assert model.points_per_ray == before + 1
        with pytest.raises(InputError, match="at least 2"):
            model.set_points_per_ray(1)
        return
    with pytest.raises(InputError, match="fixed"):  # NeRF's N and the paper head's N are fixed by the weights
        model.set_points_per_ray(before + 1)
    assert model.points_per_ray == before
