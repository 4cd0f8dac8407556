"""A model = a sampler + a radiance field + compositing: what every model (NeuSample, NeRF, stratified) has.

The trainer, evaluation, extraction and the benchmark talk to a model through :class:`Model` and to its sampler
through :class:`~jneusample.samplers.base.Sampler`; none of them asks which model it is. Which samplers a run can
use is :mod:`jneusample.models.registry`.

Shapes: R rays, N samples per ray (radiance-field queries of the final pass); see :mod:`jneusample.rendering`.
"""
from __future__ import annotations

import numpy as np

from ..platform.backend import jt  # noqa: F401  (configures Jittor before it is imported)
from jittor import nn  # noqa: E402

from ..fields.flops import radiance_flops
from ..fields.mlp import SkipMLP
from ..fields.radiance import RadianceField
from ..losses import mse
from ..rendering import Rays, RenderSettings, query_and_composite
from ..samplers.base import Sampler
from ..training.optim import ParamGroup, constant, warmup_linear_decay


LEGACY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("sample_field.", "sampler.sample_field."),
    ("coarse_field.", "sampler.coarse_field."),
    ("coarse_field.", "radiance_field."),  # NeRF without importance samples: its coarse field is the only one
    ("fine_field.", "radiance_field."),
)
"""(old prefix, new prefix) of parameter names, in the order they are tried (:meth:`Model.upgrade_state`)."""


class Model(nn.Module):
    """``model(rays, settings)``: the sampler's distances → the radiance field → compositing. Returns ``color``
    (R, 3), ``depth`` (R,), ``acc`` (R,), the samples ``z`` and their compositing ``weights`` (R, N), plus the
    sampler's extras (what its loss reads). ``loss`` = colour MSE + the sampler's terms."""

    def __init__(self, sampler: Sampler, radiance_field: RadianceField):
        super().__init__()
        self.sampler = sampler  # first: its parameters come first, as they are initialised first
        self.radiance_field = radiance_field

    @property
    def points_per_ray(self) -> int:
        """Radiance-network queries per ray at render time: the final pass's N and any pass of the sampler's
        own (NeRF's coarse pass); for chunking and cost accounting."""
        return self.sampler.samples_per_ray + self.sampler.extra_points_per_ray

    @property
    def training_points_per_ray(self) -> int:
        """:attr:`points_per_ray` of the current training step (the quantile head may vary its N per step)."""
        return self.sampler.training_samples_per_ray + self.sampler.extra_points_per_ray

    def set_points_per_ray(self, n: int) -> None:
        """Render with N = ``n`` from now on, without new weights (``eval --samples N``); a one-line InputError
        for a sampler whose N is fixed by its weights."""
        self.sampler.set_samples_per_ray(n)

    def execute(self, rays: Rays, settings: RenderSettings) -> dict[str, jt.Var]:
        samples = self.sampler.sample(rays, settings)
        outputs = query_and_composite(self.radiance_field, rays, samples.z, settings)
        return {**outputs, **samples.extras, **self.sampler.probe(rays, settings, self.radiance_field)}

    def loss(self, outputs: dict[str, jt.Var], target: jt.Var) -> jt.Var:
        """The training loss (scalar): colour MSE against the target colours (R, 3), plus the sampler's terms."""
        total = mse(outputs["color"], target)
        for term in self.sampler.losses(outputs, target):
            total = total + term
        return total

    def flops_per_ray(self, executed: bool = False) -> int:
        """MLP FLOPs (2·in·out per Linear layer and input row) of rendering one ray: N radiance queries, the
        per-ray view part of the colour layer, and the sampler's own; nominal (the layers as written) or
        ``executed`` (what the implementation runs; see :func:`~jneusample.fields.flops.radiance_flops`)."""
        point, ray = radiance_flops(self.radiance_field, executed)
        return self.sampler.samples_per_ray * point + ray + self.sampler.flops_per_ray(executed)

    def set_bf16_training(self, enabled: bool) -> None:
        """Let every MLP trunk of the model run its training matmuls in bfloat16 (``train.bf16_matmuls``)."""
        for module in self.modules():
            if isinstance(module, SkipMLP):
                module.bf16_training = enabled

    def param_groups(self, lr: float, lr_final: float, warmup_fraction: float,
                     sampler_scale: float = 1.0) -> list[ParamGroup]:
        """Training's optimizer groups, every parameter in exactly one: warm-up then linear decay. With
        ``sampler_scale`` ≠ 1 (``train.sample_field_lr_scale``) a sample field's parameters get a group of
        their own at the scaled rates, after the radiance field's (whose rate the log shows)."""
        scale = sampler_scale if self.sampler.learning_rate_scaled else 1.0
        if scale == 1.0:
            return [ParamGroup("all", list(self.parameters()), warmup_linear_decay(lr, lr_final, warmup_fraction))]
        sampler, rest = self.split_parameters()
        return [ParamGroup("radiance_field", rest, warmup_linear_decay(lr, lr_final, warmup_fraction)),
                ParamGroup("sample_field", sampler,
                           warmup_linear_decay(lr * scale, lr_final * scale, warmup_fraction))]

    def extraction_param_groups(self, sampler_lr: float, radiance_lr: float) -> list[ParamGroup]:
        """Sample field extraction's groups at constant rates, every parameter in exactly one (the reference port
        put the sample-field trunk in both)."""
        sampler, rest = self.split_parameters()
        return [ParamGroup("sample_field", sampler, constant(sampler_lr)),
                ParamGroup("radiance_field", rest, constant(radiance_lr))]

    def upgrade_state(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Parameter arrays by name as this model names them: checkpoints written before the sampler interface
        (the pretrained models among them) named the sample field ``sample_field.*`` and NeRF's fields
        ``coarse_field.*`` / ``fine_field.*``; those names are translated, every other one kept."""
        current = set(self.state_dict())
        upgraded = {}
        for name, value in arrays.items():
            if name not in current:
                for old, new in LEGACY_PREFIXES:
                    if name.startswith(old) and new + name[len(old):] in current:
                        name = new + name[len(old):]
                        break
            upgraded[name] = value
        return upgraded

    def split_parameters(self) -> tuple[list, list]:
        """(the sampler's parameters, all the others): every parameter in exactly one of the two."""
        own = list(self.sampler.parameters())
        mine = {id(p) for p in own}
        return own, [p for p in self.parameters() if id(p) not in mine]
