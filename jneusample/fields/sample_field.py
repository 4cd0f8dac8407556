"""The neural sample field: a ray (origin, direction) → N sorted sample distances in [near, far].

Two heads on the same trunk (``model.sample_field_head``): the paper's (N outputs, sigmoid, sort; a fixed N) and
the quantile head (K logits of a histogram along the ray whose N quantiles are the samples; any N at render time,
docs/method.md §8).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from ..platform.backend import jt  # noqa: F401  (configures Jittor before it is imported)
from jittor import nn  # noqa: E402

from ..samplers.distances import cumulative_distribution, piecewise_linear_quantiles
from ..rendering import check_samples_per_ray
from ..samplers.stratified import unit_to_distance
from .encoding import encoded_dims, positional_encoding
from .mlp import SkipMLP


QUANTILE_FLOOR = 0.01
"""Share of each ray's histogram mass that the quantile head spreads evenly over [0, 1]: every bin keeps at least
``QUANTILE_FLOOR / K``, so the CDF is strictly increasing, its inverse is defined everywhere and the gradient of a
sample w.r.t. the logits is bounded (a sample moves at most 1/QUANTILE_FLOOR times its level change). It costs
1 % of the samples, spread along the ray."""


def quantile_levels(n_rays: int, n_samples: int, jitter: bool) -> jt.Var:
    """The quantile levels of N samples, (R, N), ascending in [0, 1): (k + ½)/N, or with ``jitter`` (k + u)/N with
    one u ~ U(0, 1) per ray (Jittor's generator, so the trainer's per-step seed makes it reproducible)."""
    k = jt.array(np.arange(n_samples, dtype=np.float32)).reshape([1, n_samples])
    if jitter:
        return ((k + jt.rand((n_rays, 1))) / n_samples).stop_grad()
    return ((k + 0.5) / n_samples).broadcast([n_rays, n_samples]).stop_grad()


def histogram_quantiles(logits: jt.Var, levels: jt.Var, floor: float = QUANTILE_FLOOR) -> jt.Var:
    """Samples t ∈ [0, 1] at the quantile ``levels`` of the histogram that ``logits`` define.

    The K logits (R, K) give bin masses p = (1 − floor)·softmax(logits) + floor/K over K equal bins of [0, 1]: a
    piecewise-constant density whose CDF is piecewise linear; t_k = F⁻¹(level_k) by
    :func:`~jneusample.samplers.distances.piecewise_linear_quantiles`. Ascending levels give ascending t; t is
    differentiable w.r.t. the logits. Equal logits (zero, say) give the uniform density: t_k = level_k.

    Args:
        logits: (R, K).
        levels: (R, N) ascending levels in [0, 1] (:func:`quantile_levels`).
        floor: the uniform share of the mass (:data:`QUANTILE_FLOOR`).
    Returns:
        (R, N) float32 t, ascending along each ray.
    """
    return mass_quantiles(bin_masses(logits, floor), levels, floor)


def bin_masses(logits: jt.Var, floor: float = QUANTILE_FLOOR) -> jt.Var:
    """The quantile head's histogram: logits (R, K) → bin masses p = (1 − floor)·softmax(logits) + floor/K (R, K),
    each ≥ floor/K, rows summing to 1."""
    return (1.0 - floor) * nn.softmax(logits, dim=1) + floor / logits.shape[1]


def mass_quantiles(pdf: jt.Var, levels: jt.Var, floor: float = QUANTILE_FLOOR) -> jt.Var:
    """t = F⁻¹(levels) (R, N) for the bin masses ``pdf`` (R, K) of :func:`bin_masses` over K equal bins of
    [0, 1] (the inversion of :func:`histogram_quantiles`)."""
    rays, bins = pdf.shape
    edges = jt.array(np.linspace(0.0, 1.0, bins + 1, dtype=np.float32)).reshape([1, bins + 1])
    return piecewise_linear_quantiles(edges.broadcast([rays, bins + 1]), cumulative_distribution(pdf), levels,
                                      min_step=0.5 * floor / bins)


def paper_head_bias(t: np.ndarray) -> jt.Var:
    """The paper head's bias that, with zero (or small) weights, puts its N outputs at t ∈ (0, 1)ᴺ: logit(t),
    float32 (the uniform start, an extraction's start, the reset of a collapsed head)."""
    t = np.asarray(t, dtype=np.float64)
    return jt.array(np.log(t / (1.0 - t)).astype(np.float32))


class SampleField(nn.Module, ABC):
    """NeuSample's sample field (docs/method.md §1, §8): a trunk MLP on the encoded ray (γ(o) ⊕ γ(d̂)) and a head;
    the two heads are the subclasses :class:`PaperSampleField` (N outputs: a fixed N) and
    :class:`QuantileSampleField` (a histogram along the ray: any N).

    Positions t ∈ [0, 1] map to distances linearly in depth (``z = near·(1−t) + far·t``) or, with
    ``inverse_depth``, in disparity.

    ``uniform_init``: the head starts with every ray's samples spread evenly over [near, far] (like stratified
    sampling); without it, PyTorch's default initialisation of a Linear layer (the official code's): weight
    (out, width) and bias (out,) ~ U(−1/√width, +1/√width), drawn from Jittor's generator (so the run's seed fixes
    them) rather than left to ``nn.Linear``, whose scheme is Jittor's choice.
    """

    def __init__(self, n_samples: int = 192, width: int = 256, depth: int = 8, origin_freqs: int = 10,
                 direction_freqs: int = 10, inverse_depth: bool = False, uniform_init: bool = True):
        super().__init__()
        self.uniform_init = uniform_init
        self.n_samples, self.origin_freqs, self.direction_freqs = n_samples, origin_freqs, direction_freqs
        self.inverse_depth = inverse_depth
        self.trunk = SkipMLP(encoded_dims(origin_freqs) + encoded_dims(direction_freqs), width, depth)
        self.head = self.new_head(n_samples)

    @abstractmethod
    def uniform_head(self, head: nn.Linear, n_samples: int) -> None:
        """Set a fresh ``head``, in place, to the uniform placement of ``n_samples`` (``uniform_init``)."""

    @abstractmethod
    def uniform_bias(self, n_samples: int) -> jt.Var:
        """The head's bias of the uniform placement (with zero weights)."""

    def new_head(self, n_samples: int) -> nn.Linear:
        """A freshly initialised output layer for ``n_samples`` (:meth:`uniform_head`, or the official
        initialisation without ``uniform_init``)."""
        head = nn.Linear(self.trunk.width, self.head_width(n_samples))
        if self.uniform_init:
            self.uniform_head(head, n_samples)
        else:
            bound = 1.0 / float(np.sqrt(self.trunk.width))
            head.weight.assign(jt.init.uniform(tuple(head.weight.shape), "float32", -bound, bound))
            head.bias.assign(jt.init.uniform(tuple(head.bias.shape), "float32", -bound, bound))
        return head

    @abstractmethod
    def head_width(self, n_samples: int) -> int:
        """The head's outputs for N = ``n_samples``."""

    def reset_head(self) -> list[jt.Var]:
        """Put the head, in place, back to the uniform placement with zero weights (:meth:`uniform_bias`).
        Deterministic (no random numbers), so every MPI rank resets alike. Returns the head's parameters."""
        self.head.weight.assign(jt.zeros_like(self.head.weight))
        self.head.bias.assign(self.uniform_bias(self.n_samples))
        return [self.head.weight, self.head.bias]

    def trunk_features(self, origins: jt.Var, unit_dirs: jt.Var) -> jt.Var:
        """The trunk's output (R, width) for rays (origins, unit_dirs (R, 3)): what the head reads."""
        features = jt.concat([positional_encoding(origins, self.origin_freqs),
                              positional_encoding(unit_dirs, self.direction_freqs)], dim=-1)
        return self.trunk(features)

    @abstractmethod
    def unit_samples(self, origins: jt.Var, unit_dirs: jt.Var, n_samples: int | None = None,
                     jitter: bool = False) -> jt.Var:
        """Sorted samples t ∈ [0, 1]: origins, unit_dirs (R, 3) → (R, N), ascending along each ray."""

    def distances(self, t: jt.Var, near: float, far: float) -> jt.Var:
        """Positions t ∈ [0, 1] (any shape) → distances in [near, far]: linear in depth, or with
        ``inverse_depth`` in disparity."""
        return unit_to_distance(t, near, far, self.inverse_depth)

    def execute(self, origins: jt.Var, unit_dirs: jt.Var, near: float, far: float, n_samples: int | None = None,
                jitter: bool = False) -> jt.Var:
        """Sample distances z (R, N), sorted, inside [near, far] (``n_samples``, ``jitter``: :meth:`unit_samples`)."""
        return self.distances(self.unit_samples(origins, unit_dirs, n_samples, jitter), near, far)


class PaperSampleField(SampleField):
    """The paper's head: ``u = sigmoid(head(trunk))`` gives N free scalars per ray; sorting them gives
    t ∈ (0, 1)ᴺ. Gradients flow through the sort (a gather of the values) into the MLP. N is the head's width."""

    def head_width(self, n_samples: int) -> int:
        return n_samples

    def uniform_bias(self, n_samples: int) -> jt.Var:
        """logit((k + ½)/N): the samples at the bin centres."""
        return paper_head_bias((np.arange(n_samples, dtype=np.float64) + 0.5) / n_samples)

    def uniform_head(self, head: nn.Linear, n_samples: int) -> None:
        """Bias logit((k + ½)/N); weights ``nn.Linear``'s draw (U(±1/√width) in Jittor 1.3) scaled down 10x, so
        that an untrained field spreads its samples evenly over [near, far] instead of bunching them around the
        middle of the ray, where sigmoid(≈0) puts them with the default initialisation."""
        head.bias.assign(self.uniform_bias(n_samples))
        head.weight.assign(head.weight * 0.1)

    def replace_head(self, n_samples: int) -> None:
        """Sample field extraction to ``n_samples``: a freshly initialised width → ``n_samples`` head."""
        self.n_samples = n_samples
        self.head = self.new_head(n_samples)

    def unit_samples(self, origins: jt.Var, unit_dirs: jt.Var, n_samples: int | None = None,
                     jitter: bool = False) -> jt.Var:
        """The sorted sigmoid outputs (R, N); ``n_samples`` and ``jitter`` are the quantile head's (ignored)."""
        _, t = jt.argsort(jt.sigmoid(self.head(self.trunk_features(origins, unit_dirs))), dim=1)
        return t


class QuantileSampleField(SampleField):
    """The quantile head (docs/method.md §8): K logits of a histogram over t ∈ [0, 1]; the samples are its
    quantiles (:func:`histogram_quantiles`), so N is a parameter of each call, not of the weights."""

    def __init__(self, n_samples: int = 192, width: int = 256, depth: int = 8, origin_freqs: int = 10,
                 direction_freqs: int = 10, inverse_depth: bool = False, uniform_init: bool = True,
                 n_bins: int = 128):
        self.n_bins = n_bins  # before the head is built
        super().__init__(n_samples, width, depth, origin_freqs, direction_freqs, inverse_depth, uniform_init)

    def head_width(self, n_samples: int) -> int:
        return self.n_bins

    def uniform_bias(self, n_samples: int) -> jt.Var:
        """Zero logits: the uniform histogram."""
        return jt.zeros(self.n_bins)

    def uniform_head(self, head: nn.Linear, n_samples: int) -> None:
        """Zero weights and bias: every ray starts with the uniform histogram and its samples at exactly
        (k + ½)/N, for every N (the trunk gets gradients from the second step on, once the head has moved)."""
        head.bias.assign(self.uniform_bias(n_samples))
        head.weight.assign(jt.zeros_like(head.weight))

    def replace_head(self, n_samples: int) -> None:
        """Extraction to ``n_samples``: the histogram is kept (its weights are what the extraction fine-tunes);
        only the default N changes."""
        self.set_samples(n_samples)

    def set_samples(self, n_samples: int) -> None:
        """Render with ``n_samples`` per ray from now on."""
        self.n_samples = check_samples_per_ray(n_samples)

    def unit_samples(self, origins: jt.Var, unit_dirs: jt.Var, n_samples: int | None = None,
                     jitter: bool = False) -> jt.Var:
        """The quantiles (R, N) of each ray's histogram at N levels (``n_samples``, default the field's N;
        ``jitter``: random levels, :func:`quantile_levels`)."""
        return self.unit_samples_and_masses(origins, unit_dirs, n_samples, jitter)[0]

    def unit_samples_and_masses(self, origins: jt.Var, unit_dirs: jt.Var, n_samples: int | None = None,
                                jitter: bool = False) -> tuple[jt.Var, jt.Var]:
        """The samples t (R, N) of :meth:`unit_samples` and the histogram they are the quantiles of, bin masses
        (R, K) (what the histogram and interlevel losses train)."""
        masses = bin_masses(self.head(self.trunk_features(origins, unit_dirs)))
        levels = quantile_levels(masses.shape[0], n_samples or self.n_samples, jitter)
        return mass_quantiles(masses, levels), masses


SAMPLE_FIELDS: dict[str, type[SampleField]] = {"paper": PaperSampleField, "quantile": QuantileSampleField}
"""``model.sample_field_head`` → its network."""
