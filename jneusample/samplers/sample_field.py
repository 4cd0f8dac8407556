"""NeuSample's sampler: a sample field (a network per ray) gives each ray its own N sorted samples.

Two heads (``model.sample_field_head``), one class each: :class:`PaperHeadSampler` (N sigmoid outputs, sorted; a
fixed N; extraction swaps the head) and :class:`QuantileHeadSampler` (the quantiles of a histogram along the ray;
any N, each training step may draw its own). What teaches either where each ray's content is: the photometric
loss through the samples' positions and, optionally, a probe pass of the radiance field with a proposal loss
(:mod:`.proposal`); the quantile head also has the histogram loss (:mod:`.histogram_loss`).
The network itself is :mod:`jneusample.fields.sample_field`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..platform.backend import jt  # noqa: F401  (configures Jittor before it is imported)

from ..config import ModelConfig
from ..errors import InputError
from ..fields.sample_field import PaperSampleField, QuantileSampleField, SampleField, paper_head_bias
from ..fields.flops import linear_flops
from ..rendering import Rays, RenderSettings
from .base import Sampler, Samples
from .histogram_loss import histogram_loss
from .proposal import interlevel_bound_loss, probe_weights, probed_rays, quantile_distillation_loss
from .stratified import jitter_within_intervals, unit_positions


@dataclass(frozen=True)
class SampleFieldSettings:
    """The training levers of a sample-field sampler (the ``model.sample_field_*`` fields of its config)."""

    proposal_loss: float = 0.0
    """λ of the proposal loss against a probe pass (0: none)."""
    probes: int = 64
    """M: stratified probes per ray of the probe pass."""
    probe_share: float = 1.0
    """Share of a step's rays that the probe pass sees."""

    @classmethod
    def from_config(cls, model: ModelConfig) -> "SampleFieldSettings":
        return cls(model.sample_field_proposal_loss, model.sample_field_probes, model.sample_field_probe_share)


class SampleFieldSampler(Sampler):
    """Sample field → N sorted positions t ∈ [0, 1] per ray → distances in [near, far] (docs/method.md §2.2).

    The outputs carry ``sample_t`` (R, N) in training passes with an auxiliary loss, and with the proposal loss
    the probe pass's positions ``probe_s`` and weights ``probe_w`` (R', M) of the first R' rays (:meth:`probe`).
    """

    supports_extraction: ClassVar[bool] = True
    learning_rate_scaled: ClassVar[bool] = True
    field_class: ClassVar[type[SampleField]]

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.sample_field = self.build_field(config)
        self.settings = SampleFieldSettings.from_config(config)
        self.fixed_placement: np.ndarray | None = None
        """When set, (N,) positions t ∈ [0, 1] that every ray gets instead of its own (the "mean placement"
        control of :mod:`jneusample.evaluation.placement`); None: each ray's own samples."""

    @staticmethod
    def from_config(config: ModelConfig) -> "SampleFieldSampler":
        """The sampler of ``model.sample_field_head``."""
        return SAMPLE_FIELD_SAMPLERS[config.sample_field_head](config)

    def build_field(self, config: ModelConfig) -> SampleField:
        return self.field_class(
            n_samples=config.n_samples, width=config.sample_field_width, depth=config.sample_field_depth,
            origin_freqs=config.origin_freqs, direction_freqs=config.direction_freqs,
            inverse_depth=config.inverse_depth, uniform_init=config.sample_field_init == "uniform",
            **self.head_options(config))

    def head_options(self, config: ModelConfig) -> dict:
        """What the head's network takes beyond the shared trunk settings (none by default)."""
        return {}

    @property
    def samples_per_ray(self) -> int:
        return self.sample_field.n_samples

    @property
    def auxiliary_losses(self) -> bool:
        """Whether a training pass returns what an auxiliary loss needs."""
        return self.settings.proposal_loss > 0

    def unit_samples(self, origins: jt.Var, unit_dirs: jt.Var, training: bool) -> tuple[jt.Var, dict[str, jt.Var]]:
        """(R, N) positions t ascending in [0, 1] and what the head's own loss needs."""
        return self.sample_field.unit_samples(origins, unit_dirs), {}

    def jittered(self, t: jt.Var) -> jt.Var:
        """A training pass's positions before they become distances (the paper head may jitter them)."""
        return t

    def sample(self, rays: Rays, settings: RenderSettings) -> Samples:
        if self.fixed_placement is not None:
            # one (R, N) array, not a broadcast (1, N) Var: Jittor 1.3.11 segfaulted fusing that broadcast into the
            # interval encoding's variances (model.interval_encoding=true)
            placement = np.asarray(self.fixed_placement, np.float32)
            t = jt.array(np.ascontiguousarray(np.broadcast_to(placement, (len(rays), placement.size))))
            return Samples(self.sample_field.distances(t, settings.near, settings.far))
        unit_dirs = rays.directions / jt.sqrt((rays.directions * rays.directions).sum(-1, keepdims=True))
        training = settings.perturb
        t, extras = self.unit_samples(rays.origins, unit_dirs, training)
        z = self.sample_field.distances(self.jittered(t) if training else t, settings.near, settings.far)
        if not (training and self.auxiliary_losses):
            return Samples(z)
        return Samples(z, {**extras, "sample_t": t})

    def probe(self, rays: Rays, settings: RenderSettings, radiance_field) -> dict[str, jt.Var]:
        """With the proposal loss, in training: the probe pass's positions ``probe_s`` and weights ``probe_w``
        (R', M) of the step's first R' rays (:func:`~jneusample.samplers.proposal.probed_rays`)."""
        if not (settings.perturb and self.settings.proposal_loss > 0):
            return {}
        s, w = probe_weights(radiance_field, probed_rays(rays, self.settings.probe_share), settings,
                             self.settings.probes)
        return {"probe_s": s, "probe_w": w}

    def proposal_loss(self, outputs: dict[str, jt.Var], probed: int) -> jt.Var:
        """The head's loss against the probe pass of the first ``probed`` rays (:mod:`.proposal`)."""
        raise NotImplementedError

    def losses(self, outputs: dict[str, jt.Var], target: jt.Var) -> list[jt.Var]:
        """λ · the proposal loss when the pass returned the probe pass (the probe saw the step's first rays)."""
        if "probe_w" not in outputs:
            return []
        return [self.settings.proposal_loss * self.proposal_loss(outputs, outputs["probe_w"].shape[0])]

    def flops_per_ray(self, executed: bool = False) -> int:
        """One sample-field pass per ray: its trunk and head."""
        field = self.sample_field
        return sum(linear_flops(layer) for layer in field.trunk.layers) + linear_flops(field.head)

    def reset_if_collapsed(self) -> list:
        """The head back at the uniform placement (:meth:`SampleField.reset_head`); the trunk and the radiance
        field keep what they learnt."""
        return self.sample_field.reset_head()

    def prepare_extraction(self, n_samples: int) -> None:
        """Keep the trunk (and the radiance field); a head for ``n_samples`` (:meth:`SampleField.replace_head`)."""
        self.sample_field.replace_head(n_samples)


class PaperHeadSampler(SampleFieldSampler):
    """The paper's head: N free sorted outputs per ray, N fixed by the weights.

    ``model.sample_field_interval_jitter``: in training each sample moves within its share of the ray
    (:func:`~jneusample.samplers.stratified.jitter_within_intervals`), so the radiance field does not learn the
    density at N fixed depths only. The proposal loss is quantile distillation of the probe weights."""

    field_class = PaperSampleField

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.interval_jitter = config.sample_field_interval_jitter

    def jittered(self, t: jt.Var) -> jt.Var:
        return jitter_within_intervals(t) if self.interval_jitter and t.shape[1] >= 2 else t

    def set_samples_per_ray(self, n: int) -> None:
        raise InputError(f"the paper's sample-field head outputs a fixed N = {self.samples_per_ray} samples per ray "
                         "(only a model.sample_field_head=quantile run renders at any N; for fewer samples, use "
                         "`jneusample extract`)")

    def proposal_loss(self, outputs: dict[str, jt.Var], probed: int) -> jt.Var:
        return quantile_distillation_loss(outputs["sample_t"][:probed], outputs["probe_s"], outputs["probe_w"])

    def start_extraction_at(self, z: np.ndarray, near: float, far: float) -> None:
        """The new head's bias becomes logit(t_k), t_k the field's position of z_k (clipped to [1e-3, 1 − 1e-3]);
        its weights keep their fresh, small values, so every ray starts at about ``z`` and the trunk still gets
        gradients."""
        field = self.sample_field
        t = np.clip(unit_positions(np.asarray(z, np.float64), near, far, field.inverse_depth), 1e-3, 1.0 - 1e-3)
        field.head.bias.assign(paper_head_bias(t))


class QuantileHeadSampler(SampleFieldSampler):
    """The quantile head (docs/method.md §8): any N without new weights (``eval --samples N``); each training
    step draws its N from ``model.samples_choices`` (:meth:`begin_training_step`; without choices it trains at
    ``model.n_samples``). ``model.sample_field_jitter``: random quantile levels in training. Losses: the histogram
    loss (``model.sample_field_histogram_loss``) and, as proposal loss, mip-NeRF 360's interlevel bound."""

    field_class = QuantileSampleField

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.samples_choices = tuple(sorted(config.samples_choices))
        self.choices_share = config.samples_choices_share
        self.jitter = config.sample_field_jitter
        self.histogram_loss_weight = config.sample_field_histogram_loss
        """λ of the histogram loss (0: the photometric loss alone)."""
        self.histogram_uniform = config.sample_field_histogram_uniform
        self.training_samples: int | None = None
        """The N of the current training step (None: the render N); set by :meth:`begin_training_step`."""

    def head_options(self, config: ModelConfig) -> dict:
        return {"n_bins": config.sample_field_bins}

    def set_samples_per_ray(self, n: int) -> None:
        self.sample_field.set_samples(n)

    @property
    def training_samples_per_ray(self) -> int:
        return self.training_samples or self.samples_per_ray

    @property
    def auxiliary_losses(self) -> bool:
        return self.settings.proposal_loss > 0 or self.histogram_loss_weight > 0

    def begin_training_step(self, step: int, seed: int) -> None:
        """With ``model.samples_choices``: draw this step's N from the choices (uniformly, ∝ 1/N with
        ``model.samples_choices_share=points``, ∝ 1/N² with ``inverse_square``), from a generator keyed by
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

    def unit_samples(self, origins: jt.Var, unit_dirs: jt.Var, training: bool) -> tuple[jt.Var, dict[str, jt.Var]]:
        """Training: the step's N at (with ``model.sample_field_jitter``) jittered levels, with the histogram
        ``sample_masses`` (R, K) when an auxiliary loss reads it."""
        n_samples, jitter = (self.training_samples, self.jitter) if training else (None, False)
        if not (training and self.auxiliary_losses):
            return self.sample_field.unit_samples(origins, unit_dirs, n_samples, jitter), {}
        t, masses = self.sample_field.unit_samples_and_masses(origins, unit_dirs, n_samples, jitter)
        return t, {"sample_masses": masses}

    def proposal_loss(self, outputs: dict[str, jt.Var], probed: int) -> jt.Var:
        return interlevel_bound_loss(outputs["sample_masses"][:probed], outputs["probe_s"], outputs["probe_w"])

    def losses(self, outputs: dict[str, jt.Var], target: jt.Var) -> list[jt.Var]:
        """λ · the histogram loss and λ · the proposal loss, when the pass returned what they need."""
        terms = []
        if "sample_masses" in outputs and self.histogram_loss_weight > 0:
            terms.append(self.histogram_loss_weight * histogram_loss(
                outputs["sample_masses"], outputs["sample_t"], outputs["weights"], self.histogram_uniform))
        return terms + super().losses(outputs, target)

    def start_extraction_at(self, z: np.ndarray, near: float, far: float) -> None:
        """Nothing: the trained histogram is kept, and its N_e quantiles already are the start."""


SAMPLE_FIELD_SAMPLERS: dict[str, type[SampleFieldSampler]] = {"paper": PaperHeadSampler,
                                                               "quantile": QuantileHeadSampler}
"""``model.sample_field_head`` → its sampler."""
