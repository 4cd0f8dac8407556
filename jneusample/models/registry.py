"""The models a run can use: config ``model.kind`` → the class that implements :class:`~jneusample.models.base.Model`.

The one registry behind :func:`jneusample.models.neusample.build_model`, config validation (``model.kind``) and the CLI's
``--model`` choices. It names classes by import path, so that the config and the argument parser can read it
without importing Jittor. Adding a model: its module, one entry in :data:`MODELS`, and its name in
:data:`ModelKind` (a test checks that the two agree).
"""
from __future__ import annotations

import importlib
from typing import Literal

ModelKind = Literal["neusample", "nerf", "stratified"]
"""The type of ``ModelConfig.kind``: the names of :data:`MODELS`."""

MODELS: dict[str, str] = {
    "neusample": "jneusample.models.neusample:NeuSample",
    "nerf": "jneusample.models.nerf:NeRF",
    "stratified": "jneusample.models.neusample:Stratified",
}
"""Model kind → ``module:Class`` of its implementation."""

MODEL_KINDS: tuple[str, ...] = tuple(MODELS)
"""The valid values of ``model.kind`` (and of ``train --model``)."""


def model_class(kind: str) -> type:
    """The :class:`~jneusample.models.base.Model` subclass of ``kind`` (a name in :data:`MODELS`)."""
    module, name = MODELS[kind].split(":")
    return getattr(importlib.import_module(module), name)
