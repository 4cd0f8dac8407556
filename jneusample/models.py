"""NeuSample = sample field + radiance field + compositing; :func:`build_model` builds any registered model.

NeuSample asks a sample field for the distances; NeRF (``jneusample.nerf``) uses stratified coarse samples and
inverse-CDF fine samples. Both implement :class:`jneusample.model_base.Model`, the interface the trainer,
evaluator, extraction and renderer use; :mod:`jneusample.model_registry` lists them.
"""
from __future__ import annotations

from typing import ClassVar

from .backend import jt  # noqa: F401  (configures Jittor before it is imported)

from .config import Config, ModelConfig
from .fields.radiance import RadianceField
from .fields.sample_field import SampleField
from .model_base import Model, linear_flops, mse, radiance_flops
from .model_registry import model_class
from .optim import ParamGroup, constant
from .rendering import Rays, RenderSettings, query_and_composite


class NeuSample(Model):
    """Sample field → N sorted distances → radiance field → compositing (docs/method.md §2.2).

    ``model(rays, settings)``: ``color`` (R, 3), ``depth`` (R,), ``acc`` (R,), ``weights`` and ``z`` (R, N);
    ``loss`` = MSE of the colour; ``points_per_ray`` = N.
    """

    supports_extraction: ClassVar[bool] = True

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.sample_field = SampleField(
            n_samples=config.n_samples, width=config.sample_field_width, depth=config.sample_field_depth,
            origin_freqs=config.origin_freqs, direction_freqs=config.direction_freqs,
            inverse_depth=config.inverse_depth, uniform_init=config.sample_field_init == "uniform",
        )
        self.radiance_field = RadianceField(
            width=config.radiance_width, depth=config.radiance_depth,
            position_freqs=config.position_freqs, view_freqs=config.view_freqs,
        )

    @property
    def points_per_ray(self) -> int:
        return self.sample_field.n_samples

    def sample_distances(self, rays: Rays, settings: RenderSettings) -> jt.Var:
        """(R, N) sorted distances in [near, far] along ``rays.directions``."""
        unit_dirs = rays.directions / jt.sqrt((rays.directions * rays.directions).sum(-1, keepdims=True))
        return self.sample_field(rays.origins, unit_dirs, settings.near, settings.far)

    def execute(self, rays: Rays, settings: RenderSettings) -> dict[str, jt.Var]:
        return query_and_composite(self.radiance_field, rays, self.sample_distances(rays, settings), settings)

    def loss(self, outputs: dict[str, jt.Var], target: jt.Var) -> jt.Var:
        return mse(outputs["color"], target)

    def training_color_mse(self, outputs: dict[str, jt.Var], target: jt.Var, loss: jt.Var) -> jt.Var:
        return loss  # the loss is the colour MSE

    def flops_per_ray(self, executed: bool = False) -> int:
        """N radiance queries, the per-ray view part of the colour layer, and one sample-field pass."""
        point, ray = radiance_flops(self.radiance_field, executed)
        sample = sum(linear_flops(layer) for layer in self.sample_field.trunk.layers)
        sample += linear_flops(self.sample_field.head)
        return self.points_per_ray * point + ray + sample

    def extraction_param_groups(self, config: Config) -> list[ParamGroup]:
        """Sample field and radiance field at constant rates, every parameter in exactly one group (the
        reference port put the sample-field trunk in both)."""
        sample_ids = {id(p) for p in self.sample_field.parameters()}
        rest = [p for p in self.parameters() if id(p) not in sample_ids]
        return [
            ParamGroup("sample_field", list(self.sample_field.parameters()), constant(config.extract.sample_field_lr)),
            ParamGroup("radiance_field", rest, constant(config.extract.radiance_lr)),
        ]

    def prepare_extraction(self, n_samples: int) -> None:
        """Keep the sample-field trunk and the radiance field; a fresh width → ``n_samples`` head."""
        self.sample_field.replace_head(n_samples)


def build_model(config: ModelConfig) -> Model:
    """The model a config describes (``config.kind`` in :data:`jneusample.model_registry.MODELS`)."""
    return model_class(config.kind)(config)
