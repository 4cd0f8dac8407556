"""NeRF (Mildenhall et al. 2020) in the same engine: the baseline NeuSample replaces.

Two radiance fields of the same shape. The coarse one is queried at ``n_coarse`` stratified distances; its
compositing weights define a piecewise-constant PDF along the ray from which ``n_importance`` more distances are
drawn (inverse transform sampling); the fine one is queried at the sorted union of both sets. Both colours are
supervised. Only *how distances are produced* differs from :class:`jneusample.models.neusample.NeuSample`; fields and
compositing are shared.
"""
from __future__ import annotations

from ..platform.backend import jt  # noqa: F401  (configures Jittor before it is imported)
from ..config import ModelConfig
from ..samplers.distances import inverse_cdf_distances, stratified_distances
from ..errors import InputError
from ..fields.radiance import RadianceField
from .base import Model, mse, radiance_flops
from ..rendering import Rays, RenderSettings, query_and_composite


class NeRF(Model):
    """Coarse field at stratified samples → importance samples from its weights → fine field at the union.

    Same interface as NeuSample: ``model(rays, settings)`` returns the fine pass's ``color`` (R, 3),
    ``depth`` (R,), ``acc`` (R,), ``weights`` (R, Nc + Ni), ``z`` (R, Nc + Ni) plus ``coarse_color`` (R, 3);
    ``loss`` = MSE(fine) + MSE(coarse); ``points_per_ray`` = Nc + (Nc + Ni), every MLP query of a ray.
    Samples are jittered when ``settings.perturb`` (training) and deterministic otherwise.
    With ``n_importance == 0`` there is no fine network: the coarse pass is the output (as in NeRF's code).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.n_coarse, self.n_importance = int(config.n_coarse), int(config.n_importance)
        if self.n_importance > 0 and self.n_coarse < 3:
            # the PDF lives on the n_coarse − 2 interior intervals between coarse midpoints
            raise InputError(f"invalid config: model.n_coarse must be >= 3 when model.n_importance > 0 "
                             f"(got {self.n_coarse})")

        self.coarse_field = RadianceField.from_config(config)
        self.fine_field = RadianceField.from_config(config) if self.n_importance > 0 else None

    @property
    def points_per_ray(self) -> int:
        if self.n_importance == 0:
            return self.n_coarse
        return self.n_coarse + self.n_coarse + self.n_importance

    def _render(self, field: RadianceField, rays: Rays, z: jt.Var, settings: RenderSettings) -> dict[str, jt.Var]:
        """Query ``field`` at distances z (R, N) and composite."""
        return query_and_composite(field, rays, z, settings)

    def execute(self, rays: Rays, settings: RenderSettings) -> dict[str, jt.Var]:
        z_coarse = stratified_distances(settings.near, settings.far, len(rays), self.n_coarse, settings.perturb)
        coarse = self._render(self.coarse_field, rays, z_coarse, settings)
        if self.fine_field is None:
            coarse["coarse_color"] = coarse["color"]
            return coarse
        # NeRF's choice of PDF: bins between the midpoints of the coarse samples, weighted by the coarse weights
        # of the interior samples (the first and last sample have only half a bin)
        mids = 0.5 * (z_coarse[:, 1:] + z_coarse[:, :-1])  # (R, Nc − 1) edges of Nc − 2 bins
        z_importance = inverse_cdf_distances(mids, coarse["weights"][:, 1:-1], self.n_importance, settings.perturb)
        _, z_fine = jt.argsort(jt.concat([z_coarse, z_importance], dim=1), dim=1)
        fine = self._render(self.fine_field, rays, z_fine.stop_grad(), settings)
        fine["coarse_color"] = coarse["color"]
        return fine

    def loss(self, outputs: dict[str, jt.Var], target: jt.Var) -> jt.Var:
        if self.fine_field is None:
            return mse(outputs["color"], target)
        return mse(outputs["color"], target) + mse(outputs["coarse_color"], target)

    def flops_per_ray(self, executed: bool = False) -> int:
        """Nc coarse queries and, with a fine field, Nc + Ni fine queries, each pass with its per-ray view part."""
        point, ray = radiance_flops(self.coarse_field, executed)
        total = self.n_coarse * point + ray
        if self.fine_field is not None:
            fine_point, fine_ray = radiance_flops(self.fine_field, executed)
            total += (self.n_coarse + self.n_importance) * fine_point + fine_ray
        return total
