"""NeuSample = sample field + radiance field + compositing; :func:`build_model` builds any registered model.

NeuSample asks a sample field for the distances; NeRF (``jneusample.models.nerf``) uses stratified coarse samples and
inverse-CDF fine samples. Both implement :class:`jneusample.models.base.Model`, the interface the trainer,
evaluator, extraction and renderer use; :mod:`jneusample.models.registry` lists them.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..platform.backend import jt  # noqa: F401  (configures Jittor before it is imported)

from ..config import Config, ModelConfig, samples_choices
from ..training.distill import unit_positions
from ..fields.radiance import RadianceField
from ..fields.sample_field import SampleField, paper_head_bias
from ..samplers.histogram_loss import histogram_loss
from .base import Model, linear_flops, mse, radiance_flops
from .registry import model_class
from ..training.optim import ParamGroup, constant, warmup_linear_decay
from ..rendering import Rays, RenderSettings, check_samples_per_ray, query_and_composite
from ..samplers.proposal import interlevel_bound_loss, probe_weights, probed_rays, quantile_distillation_loss
from ..samplers.stratified import jitter_within_intervals, stratified_unit_samples, unit_to_distance


class NeuSample(Model):
    """Sample field → N sorted distances → radiance field → compositing (docs/method.md §2.2).

    ``model(rays, settings)``: ``color`` (R, 3), ``depth`` (R,), ``acc`` (R,), ``weights`` and ``z`` (R, N);
    ``loss`` = MSE of the colour; ``points_per_ray`` = N.

    With the quantile head (``model.sample_field_head=quantile``, docs/method.md §8) N is not fixed by the
    weights: :meth:`set_points_per_ray` changes the N of rendering, and each training step draws its N from
    ``model.samples_choices`` (:meth:`begin_training_step`; without choices it trains at ``model.n_samples``).
    """

    supports_extraction: ClassVar[bool] = True

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.sample_field = SampleField(
            n_samples=config.n_samples, width=config.sample_field_width, depth=config.sample_field_depth,
            origin_freqs=config.origin_freqs, direction_freqs=config.direction_freqs,
            inverse_depth=config.inverse_depth, uniform_init=config.sample_field_init == "uniform",
            head=config.sample_field_head, n_bins=config.sample_field_bins,
        )
        self.samples_choices = samples_choices(config)
        self.jitter = config.sample_field_jitter
        self.choices_share = config.samples_choices_share
        self.histogram_loss_weight = config.sample_field_histogram_loss
        """λ of the quantile head's histogram loss (0: the photometric loss alone)."""
        self.histogram_uniform = config.sample_field_histogram_uniform
        self.proposal_loss_weight = config.sample_field_proposal_loss
        """λ of the proposal loss against a probe pass (jneusample.samplers.proposal; 0: none)."""
        self.n_probes = config.sample_field_probes
        self.probe_share = config.sample_field_probe_share
        self.interval_jitter = config.sample_field_interval_jitter
        self.fixed_placement: np.ndarray | None = None
        """When set, (N,) positions t ∈ [0, 1] that every ray gets instead of its own (the "mean placement"
        control of :mod:`jneusample.evaluation.placement`); None: each ray's own samples."""
        self.training_samples: int | None = None
        """The N of the current training step (None: the render N); set by :meth:`begin_training_step`."""
        self.radiance_field = RadianceField.from_config(config)

    @property
    def points_per_ray(self) -> int:
        """The N of rendering (the quantile head's training steps may use another: :meth:`begin_training_step`)."""
        return self.sample_field.n_samples

    def set_points_per_ray(self, n: int) -> None:
        """Render with N = ``n`` (quantile head only; the paper head's N is its width: a one-line InputError)."""
        self.sample_field.set_samples(n)

    def _split_parameters(self) -> tuple[list, list]:
        """(sample-field parameters, all the others): every parameter in exactly one of the two."""
        field = list(self.sample_field.parameters())
        in_field = {id(p) for p in field}
        return field, [p for p in self.parameters() if id(p) not in in_field]

    def param_groups(self, config: Config) -> list[ParamGroup]:
        """Training with ``train.sample_field_lr_scale`` ≠ 1: two groups, the radiance field (first: its rate is
        the one the log shows) and the sample field at the scaled rates; otherwise the base class's one group."""
        train = config.train
        if config.extract.parent or train.sample_field_lr_scale == 1.0:
            return super().param_groups(config)
        field, rest = self._split_parameters()
        scale = train.sample_field_lr_scale
        return [ParamGroup("radiance_field", rest,
                           warmup_linear_decay(train.lr, train.lr_final, train.warmup_fraction)),
                ParamGroup("sample_field", field,
                           warmup_linear_decay(train.lr * scale, train.lr_final * scale, train.warmup_fraction))]

    @property
    def training_points_per_ray(self) -> int:
        return self.training_samples or self.points_per_ray

    def begin_training_step(self, step: int, seed: int) -> None:
        """Quantile head with ``model.samples_choices``: draw this step's N from the choices (uniformly, ∝ 1/N
        with ``model.samples_choices_share=points``, ∝ 1/N² with ``inverse_square``), from a generator keyed by
        (seed, step) alone, so every MPI rank takes the same N (equal work per rank) and a resumed run takes the
        N the uninterrupted one would have."""
        if not self.samples_choices:
            return
        generator = np.random.default_rng([seed, step, 0x5A3D])
        power = {"steps": 0, "points": 1, "inverse_square": 2}[self.choices_share]
        if power:  # P(N) ∝ N^-power; 'points': every N gets the same share of the queries
            inverse = 1.0 / np.asarray(self.samples_choices, np.float64) ** power
            pick = generator.choice(len(self.samples_choices), p=inverse / inverse.sum())
        else:  # integers, not choice: the draws of runs trained before the other shares existed
            pick = generator.integers(len(self.samples_choices))
        self.training_samples = self.samples_choices[int(pick)]

    def _sampler_inputs(self, rays: Rays, settings: RenderSettings) -> tuple[tuple, dict]:
        """The sample field's arguments for ``rays``: unit directions; in training (``settings.perturb``) the
        quantile head uses the step's N and, with ``model.sample_field_jitter``, jittered levels."""
        unit_dirs = rays.directions / jt.sqrt((rays.directions * rays.directions).sum(-1, keepdims=True))
        training = settings.perturb
        return (rays.origins, unit_dirs), {"n_samples": self.training_samples if training else None,
                                           "jitter": training and self.jitter}

    def sample_distances(self, rays: Rays, settings: RenderSettings) -> jt.Var:
        """(R, N) sorted distances in [near, far] along ``rays.directions`` (:meth:`_sampler_inputs`)."""
        if self.fixed_placement is not None:
            t = jt.array(np.asarray(self.fixed_placement, np.float32)).reshape([1, -1])
            return self.sample_field.distances(t.broadcast([len(rays), t.shape[1]]), settings.near, settings.far)
        args, kwargs = self._sampler_inputs(rays, settings)
        return self.sample_field.distances(self._jittered(self.sample_field.unit_samples(*args, **kwargs), settings),
                                           settings.near, settings.far)

    def _jittered(self, t: jt.Var, settings: RenderSettings) -> jt.Var:
        """Training with ``model.sample_field_interval_jitter`` (paper head): each sample moved within its share
        of the ray (:func:`~jneusample.samplers.stratified.jitter_within_intervals`); otherwise ``t``."""
        if settings.perturb and self.interval_jitter and not self.sample_field.any_n and t.shape[1] >= 2:
            return jitter_within_intervals(t)
        return t

    def execute(self, rays: Rays, settings: RenderSettings) -> dict[str, jt.Var]:
        """Render. A training pass with an auxiliary sampler loss also returns what :meth:`loss` needs: the
        samples' positions ``sample_t`` (R, N), the quantile head's bin masses ``sample_masses`` (R, K), and with
        the proposal loss the probe pass's positions ``probe_s`` and weights ``probe_w`` (R, M)."""
        training = settings.perturb
        wants_histogram = training and self.histogram_loss_weight > 0
        wants_proposal = training and self.proposal_loss_weight > 0
        if not (wants_histogram or wants_proposal):
            return query_and_composite(self.radiance_field, rays, self.sample_distances(rays, settings), settings)
        args, kwargs = self._sampler_inputs(rays, settings)
        extras: dict[str, jt.Var] = {}
        if self.sample_field.any_n:
            t, extras["sample_masses"] = self.sample_field.unit_samples_and_masses(*args, **kwargs)
        else:
            t = self.sample_field.unit_samples(*args, **kwargs)
        outputs = query_and_composite(self.radiance_field, rays, self.sample_field.distances(
            self._jittered(t, settings), settings.near, settings.far), settings)
        if wants_proposal:
            extras["probe_s"], extras["probe_w"] = probe_weights(
                self.radiance_field, probed_rays(rays, self.probe_share), settings, self.n_probes)
        return {**outputs, **extras, "sample_t": t}

    def loss(self, outputs: dict[str, jt.Var], target: jt.Var) -> jt.Var:
        """Colour MSE, plus λ · the histogram loss and λ · the proposal loss when the pass returned what they
        need (:meth:`execute`)."""
        total = mse(outputs["color"], target)
        if "sample_masses" in outputs and self.histogram_loss_weight > 0:
            total = total + self.histogram_loss_weight * histogram_loss(
                outputs["sample_masses"], outputs["sample_t"], outputs["weights"], self.histogram_uniform)
        if "probe_w" in outputs:
            probed = outputs["probe_w"].shape[0]  # the probe saw the step's first rays (probed_rays)
            if self.sample_field.any_n:
                proposal = interlevel_bound_loss(outputs["sample_masses"][:probed], outputs["probe_s"],
                                                 outputs["probe_w"])
            else:
                proposal = quantile_distillation_loss(outputs["sample_t"][:probed], outputs["probe_s"],
                                                      outputs["probe_w"])
            total = total + self.proposal_loss_weight * proposal
        return total

    def training_color_mse(self, outputs: dict[str, jt.Var], target: jt.Var, loss: jt.Var) -> jt.Var:
        # the loss is the colour MSE unless an auxiliary sampler loss was added
        return mse(outputs["color"], target) if "sample_t" in outputs else loss

    def flops_per_ray(self, executed: bool = False) -> int:
        """N radiance queries, the per-ray view part of the colour layer, and one sample-field pass."""
        point, ray = radiance_flops(self.radiance_field, executed)
        sample = sum(linear_flops(layer) for layer in self.sample_field.trunk.layers)
        sample += linear_flops(self.sample_field.head)
        return self.points_per_ray * point + ray + sample

    def extraction_param_groups(self, config: Config) -> list[ParamGroup]:
        """Sample field and radiance field at constant rates, every parameter in exactly one group (the
        reference port put the sample-field trunk in both)."""
        field, rest = self._split_parameters()
        return [
            ParamGroup("sample_field", field, constant(config.extract.sample_field_lr)),
            ParamGroup("radiance_field", rest, constant(config.extract.radiance_lr)),
        ]

    def reset_collapsed_sampler(self) -> list:
        """The sample field's head back at the uniform placement (:meth:`SampleField.reset_head`); the trunk and
        the radiance field keep what they learnt."""
        return self.sample_field.reset_head()

    def prepare_extraction(self, n_samples: int) -> None:
        """Keep the sample-field trunk and the radiance field; a fresh width → ``n_samples`` head."""
        self.sample_field.replace_head(n_samples)

    def start_extraction_at(self, z: np.ndarray, near: float, far: float) -> None:
        """The new paper head's bias becomes logit(t_k), t_k the field's position of z_k (clipped to
        [1e-3, 1 − 1e-3]); its weights keep their fresh, small values, so every ray starts at about ``z`` and
        the trunk still gets gradients. The quantile head keeps its trained histogram: its N_e samples already
        are that histogram's quantiles."""
        field = self.sample_field
        if field.any_n:
            return
        t = np.clip(unit_positions(np.asarray(z, np.float64), near, far, field.inverse_depth), 1e-3, 1.0 - 1e-3)
        field.head.bias.assign(paper_head_bias(t))


class Stratified(Model):
    """The control of every claim about the sample field: the same radiance field and compositing, queried at
    stratified distances (jittered bins in training, bin centres at render time; :mod:`jneusample.samplers.stratified`).

    Any N without new weights (``eval --samples N``): ``points_per_ray`` = N, one radiance pass, no sampler
    network. ``loss`` = MSE of the colour.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.n_samples = int(config.n_samples)
        self.inverse_depth = config.inverse_depth
        self.radiance_field = RadianceField.from_config(config)

    @property
    def points_per_ray(self) -> int:
        return self.n_samples

    def set_points_per_ray(self, n: int) -> None:
        self.n_samples = check_samples_per_ray(n)

    def execute(self, rays: Rays, settings: RenderSettings) -> dict[str, jt.Var]:
        t = stratified_unit_samples(len(rays), self.n_samples, jitter=settings.perturb)
        return query_and_composite(self.radiance_field, rays,
                                   unit_to_distance(t, settings.near, settings.far, self.inverse_depth), settings)

    def loss(self, outputs: dict[str, jt.Var], target: jt.Var) -> jt.Var:
        return mse(outputs["color"], target)

    def flops_per_ray(self, executed: bool = False) -> int:
        point, ray = radiance_flops(self.radiance_field, executed)
        return self.points_per_ray * point + ray


def build_model(config: ModelConfig) -> Model:
    """The model a config describes (``config.kind`` in :data:`jneusample.models.registry.MODELS`)."""
    return model_class(config.kind)(config)
