"""The models a run can use: config ``model.kind`` → its sampler; :func:`build_model` builds the model.

Every model is a :class:`~jneusample.models.model.Model`: one of these samplers + a radiance field +
compositing. The registry names classes by import path, so that the config and the argument parser can read it
without importing Jittor. Adding a model: its sampler (a :class:`~jneusample.samplers.base.Sampler` with a
``from_config(model_config)``), one entry in :data:`MODELS`, and its name in :data:`ModelKind` (a test
checks that the two agree).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the registry itself imports no Jittor
    from ..config import ModelConfig
    from .model import Model

ModelKind = Literal["neusample", "nerf", "stratified"]
"""The type of ``ModelConfig.kind``: the names of :data:`MODELS`."""

MODELS: dict[str, str] = {
    "neusample": "jneusample.samplers.sample_field:SampleFieldSampler",
    "nerf": "jneusample.samplers.coarse_to_fine:CoarseToFineSampler",
    "stratified": "jneusample.samplers.stratified:StratifiedSampler",
}
"""Model kind → ``module:Class`` of its sampler."""

MODEL_KINDS: tuple[str, ...] = tuple(MODELS)
"""The valid values of ``model.kind`` (and of ``train --model``)."""


def sampler_class(kind: str) -> type:
    """The :class:`~jneusample.samplers.base.Sampler` subclass of ``kind`` (a name in :data:`MODELS`)."""
    module, name = MODELS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def build_model(config: "ModelConfig") -> "Model":
    """The model ``config`` describes: its sampler first, then the radiance field (the order in which their
    initial weights are drawn)."""
    from ..fields.radiance import RadianceField  # Jittor: only when a model is built
    from .model import Model

    sampler = sampler_class(config.kind).from_config(config)
    return Model(sampler, RadianceField.from_config(config))
