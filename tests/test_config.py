import json

import pytest

from jneusample.config import Config, apply_overrides, differences, preset
from jneusample.errors import InputError


def test_presets_and_overrides():
    config = apply_overrides(preset("cpu"), ["train.steps=1e3", "model.n_samples=32", "render.density_noise_std=0",
                                             "model.inverse_depth=true"])
    assert config.train.steps == 1000 and config.model.n_samples == 32
    assert config.render.density_noise_std == 0.0 and config.model.inverse_depth is True
    paper = preset("paper")
    assert (paper.model.n_samples, paper.train.steps, paper.train.rays_per_step) == (192, 400_000, 4096)
    assert (paper.train.lr, paper.train.lr_final, paper.train.precrop_steps) == (5e-4, 5e-6, 1000)
    assert paper.train.sample_field_lr_scale == 1.0
    for name in ("cpu", "quick"):  # the higher peak rate is the radiance field's; the sample field keeps the paper's
        fast = preset(name).train
        assert fast.lr * fast.sample_field_lr_scale == pytest.approx(paper.train.lr)


@pytest.mark.parametrize("item, message", [
    ("train.stepz=3", "unknown config key"),
    ("steps=3", "unknown config key"),
    ("train.steps", "expected key=value"),
    ("train.steps=2.5", "expects a int"),
    ("model.inverse_depth=maybe", "true/false"),
    ("train.steps=0", "train.steps must be >= 1"),
    ("model.kind=gan", "model.kind"),
    ("train.sample_field_lr_scale=0", "sample_field_lr_scale must be a positive number"),
    ("train.sample_field_lr_scale=nan", "sample_field_lr_scale must be a finite number"),
])
def test_bad_overrides_are_one_line_errors(item, message):
    with pytest.raises(InputError, match=message):
        apply_overrides(preset("tiny"), [item])


def test_config_round_trips_through_json():
    config = apply_overrides(preset("cpu"), ["model.n_samples=40"])
    again = Config.from_dict(json.loads(config.to_json()))
    assert again == config and differences(config, again) == []
    assert differences(config, preset("cpu")) == ["model.n_samples"]
    with pytest.raises(InputError, match="unknown config section"):
        Config.from_dict({"modle": {}})


def test_quantile_head_fields_validate():
    config = apply_overrides(preset("tiny"), ["model.sample_field_head=quantile", "model.sample_field_bins=64",
                                              "model.samples_choices=32, 8,16", "model.sample_field_jitter=false"])
    assert config.model.samples_choices == (8, 16, 32) and config.model.sample_field_jitter is False
    assert preset("tiny").model.samples_choices == ()
    # config.json holds a JSON list; runs saved before the field was typed hold the comma-separated text
    assert Config.from_dict({"model": {"samples_choices": [16, 8]}}).model.samples_choices == (8, 16)
    assert Config.from_dict({"model": {"samples_choices": "8,16"}}).model.samples_choices == (8, 16)
    assert Config.from_dict({"model": {"samples_choices": ""}}).model.samples_choices == ()
    assert json.loads(config.to_json())["model"]["samples_choices"] == [8, 16, 32]
    with pytest.raises(InputError, match="model.samples_choices must list integers >= 2"):
        Config.from_dict({"model": {"samples_choices": [8, 2.5]}})
    for name in ("paper", "cpu", "tiny"):  # the paper's head stays the default of every preset
        assert preset(name).model.sample_field_head == "paper"


@pytest.mark.parametrize("items, message", [
    (["model.sample_field_head=quantile", "model.samples_choices=8,x"], "samples_choices must list integers >= 2"),
    (["model.sample_field_head=quantile", "model.samples_choices=8,1"], "samples_choices must list integers >= 2"),
    (["model.sample_field_head=quantile", "model.samples_choices=8,8"], "lists a value twice"),
    (["model.samples_choices=8,16"], "samples_choices needs model.sample_field_head='quantile'"),
    (["model.sample_field_bins=1"], r"model.sample_field_bins must be in \[2, 4096\]"),
    (["model.sample_field_head=sigmoid"], "model.sample_field_head must be 'paper' or 'quantile'"),
])
def test_bad_quantile_head_fields_are_one_line_errors(items, message):
    with pytest.raises(InputError, match=message):
        apply_overrides(preset("tiny"), items)


@pytest.mark.parametrize("item, message", [
    ("model.sample_field_probes=1", "model.sample_field_probes must be >= 2"),
    ("model.sample_field_proposal_loss=-1", "model.sample_field_proposal_loss must be >= 0"),
])
def test_bad_proposal_fields_are_one_line_errors(item, message):
    with pytest.raises(InputError, match=message):
        apply_overrides(preset("tiny"), [item])


def test_proposal_fields_default_to_the_paper_way():
    config = preset("paper")
    assert config.model.sample_field_proposal_loss == 0 and not config.model.sample_field_interval_jitter
    apply_overrides(config, ["model.sample_field_proposal_loss=1", "model.sample_field_probes=16",
                             "model.sample_field_interval_jitter=true"])
    assert config.model.sample_field_probes == 16


def test_every_choice_field_is_checked_against_its_literal_type():
    import typing

    from jneusample.config import CHOICES, ModelConfig, TrainConfig, ExtractConfig
    from jneusample.models.registry import MODEL_KINDS

    assert CHOICES["model.kind"] == MODEL_KINDS and CHOICES["train.schedule"] == ("steps", "time")
    for section, cls in (("model", ModelConfig), ("train", TrainConfig), ("extract", ExtractConfig)):
        literal = {name for name, hint in typing.get_type_hints(cls).items()
                   if typing.get_origin(hint) is typing.Literal}
        assert literal == {key.split(".")[1] for key in CHOICES if key.startswith(section + ".")}
    for key, choices in CHOICES.items():
        with pytest.raises(InputError, match=f"^invalid config: {key} must be "
                                             f"{' or '.join(repr(c) for c in choices)}, got 'nope'$"):
            apply_overrides(preset("tiny"), [f"{key}=nope"])
