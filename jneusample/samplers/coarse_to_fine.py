"""NeRF's sampler (Mildenhall et al. 2020): a coarse radiance field at stratified distances, whose compositing
weights place the importance samples of the fine pass.

The coarse field is queried at ``n_coarse`` stratified distances; its weights define a piecewise-constant PDF
along the ray from which ``n_importance`` more distances are drawn (inverse transform sampling); the model's
radiance field (NeRF's fine field) is queried at the sorted union of both sets. Both colours are supervised (the
coarse one by this sampler's loss). With ``n_importance == 0`` there is no coarse field: the stratified samples go
straight to the model's radiance field (as in NeRF's code).
"""
from __future__ import annotations

from ..platform.backend import jt  # noqa: F401  (configures Jittor before it is imported)

from ..config import ModelConfig
from ..errors import InputError
from ..fields.flops import radiance_flops
from ..fields.radiance import RadianceField
from ..rendering import Rays, RenderSettings, query_and_composite
from .base import Sampler, Samples
from .distances import inverse_cdf_distances, stratified_distances
from ..losses import mse


class CoarseToFineSampler(Sampler):
    """Coarse field at stratified samples → importance samples from its weights; the samples of the fine pass are
    the sorted union (``n_coarse + n_importance`` per ray). Jittered when ``settings.perturb``."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.n_coarse, self.n_importance = int(config.n_coarse), int(config.n_importance)
        if self.n_importance > 0 and self.n_coarse < 3:
            # the PDF lives on the n_coarse − 2 interior intervals between coarse midpoints
            raise InputError(f"invalid config: model.n_coarse must be >= 3 when model.n_importance > 0 "
                             f"(got {self.n_coarse})")
        self.coarse_field = RadianceField.from_config(config) if self.n_importance > 0 else None

    @staticmethod
    def from_config(config: ModelConfig) -> "CoarseToFineSampler":
        return CoarseToFineSampler(config)

    @property
    def samples_per_ray(self) -> int:
        return self.n_coarse + self.n_importance

    @property
    def extra_points_per_ray(self) -> int:
        """The coarse pass's ``n_coarse`` queries (none without importance samples)."""
        return self.n_coarse if self.coarse_field is not None else 0

    def sample(self, rays: Rays, settings: RenderSettings) -> Samples:
        z_coarse = stratified_distances(settings.near, settings.far, len(rays), self.n_coarse, settings.perturb)
        if self.coarse_field is None:
            return Samples(z_coarse)
        coarse = query_and_composite(self.coarse_field, rays, z_coarse, settings)
        # NeRF's choice of PDF: bins between the midpoints of the coarse samples, weighted by the coarse weights
        # of the interior samples (the first and last sample have only half a bin)
        mids = 0.5 * (z_coarse[:, 1:] + z_coarse[:, :-1])  # (R, Nc − 1) edges of Nc − 2 bins
        z_importance = inverse_cdf_distances(mids, coarse["weights"][:, 1:-1], self.n_importance, settings.perturb)
        _, z_fine = jt.argsort(jt.concat([z_coarse, z_importance], dim=1), dim=1)
        return Samples(z_fine.stop_grad(), {"coarse_color": coarse["color"]})

    def losses(self, outputs: dict[str, jt.Var], target: jt.Var) -> list[jt.Var]:
        """The coarse pass's colour MSE (NeRF supervises both passes)."""
        return [mse(outputs["coarse_color"], target)] if "coarse_color" in outputs else []

    def flops_per_ray(self, executed: bool = False) -> int:
        """The coarse pass: ``n_coarse`` queries and its per-ray view part."""
        if self.coarse_field is None:
            return 0
        point, ray = radiance_flops(self.coarse_field, executed)
        return self.n_coarse * point + ray
