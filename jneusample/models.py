"""Models = how sample distances are produced + the radiance field + compositing.

NeuSample asks a sample field for the distances; NeRF (``jneusample.nerf``) uses stratified coarse samples and
inverse-CDF fine samples. Both expose the same interface to the trainer, evaluator and renderer:

* ``model(rays, settings) -> dict`` with at least ``color`` (R, 3), ``depth`` (R,), ``acc`` (R,);
* ``model.loss(outputs, target) -> jt.Var`` the photometric training loss;
* ``model.points_per_ray`` radiance-field queries per ray (for chunking and cost accounting).
"""
from __future__ import annotations

from .backend import jt  # noqa: F401  (configures Jittor before it is imported)
from jittor import nn  # noqa: E402

from .config import ModelConfig
from .fields.radiance import RadianceField
from .fields.sample_field import SampleField
from .rendering import Rays, RenderSettings, query_and_composite


def mse(prediction: jt.Var, target: jt.Var) -> jt.Var:
    """Mean over rays and channels of the squared colour error."""
    return ((prediction - target) ** 2).mean()


class NeuSample(nn.Module):
    """Sample field → N sorted distances → radiance field → compositing (METHOD.md §2.2)."""

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


def build_model(config: ModelConfig) -> nn.Module:
    """The model a config describes."""
    if config.kind == "nerf":
        from .nerf import NeRF

        return NeRF(config)
    return NeuSample(config)
