"""The neural sample field: a ray (origin, direction) → N sorted sample distances in [near, far]."""
from __future__ import annotations

import numpy as np
from ..backend import jt  # noqa: F401  (configures Jittor before it is imported)
from jittor import nn  # noqa: E402

from .encoding import encoded_dims, positional_encoding
from .mlp import SkipMLP


class SampleField(nn.Module):
    """NeuSample's sample field (METHOD.md §1).

    ``u = sigmoid(head(MLP(γ(o) ⊕ γ(d̂))))`` gives N free scalars per ray; sorting them gives t ∈ (0, 1)ᴺ,
    mapped to distances linearly in depth (``z = near·(1−t) + far·t``) or, with ``inverse_depth``, in
    disparity. Gradients flow through the sort (a gather of the values) into the MLP.
    """

    def __init__(self, n_samples: int = 192, width: int = 256, depth: int = 8, origin_freqs: int = 10,
                 direction_freqs: int = 10, inverse_depth: bool = False, uniform_init: bool = True):
        super().__init__()
        self.uniform_init = uniform_init
        self.n_samples, self.origin_freqs, self.direction_freqs = n_samples, origin_freqs, direction_freqs
        self.inverse_depth = inverse_depth
        self.trunk = SkipMLP(encoded_dims(origin_freqs) + encoded_dims(direction_freqs), width, depth)
        self.head = self.new_head(n_samples)

    def new_head(self, n_samples: int) -> nn.Linear:
        """A freshly initialised width → ``n_samples`` output layer.

        With ``uniform_init`` the bias of output k is logit((k + ½)/N) and the weights are scaled down 10x, so
        that an untrained field already spreads its samples evenly over [near, far] (like stratified
        sampling) instead of bunching them around the middle of the ray, where sigmoid(≈0) puts them with the
        default initialisation. The network and the loss are unchanged; only the starting point differs.
        """
        head = nn.Linear(self.trunk.width, n_samples)
        if self.uniform_init:
            quantiles = (np.arange(n_samples, dtype=np.float64) + 0.5) / n_samples
            head.bias.assign(jt.array(np.log(quantiles / (1.0 - quantiles)).astype(np.float32)))
            head.weight.assign(head.weight * 0.1)
        return head

    def replace_head(self, n_samples: int) -> None:
        """Swap the output layer for a freshly initialised width → ``n_samples`` one (sample field extraction)."""
        self.n_samples = n_samples
        self.head = self.new_head(n_samples)

    def unit_samples(self, origins: jt.Var, unit_dirs: jt.Var) -> jt.Var:
        """Sorted samples t ∈ (0, 1): origins, unit_dirs (R, 3) → (R, N), ascending along each ray."""
        features = jt.concat([positional_encoding(origins, self.origin_freqs),
                              positional_encoding(unit_dirs, self.direction_freqs)], dim=-1)
        u = jt.sigmoid(self.head(self.trunk(features)))
        _, t = jt.argsort(u, dim=1)
        return t

    def execute(self, origins: jt.Var, unit_dirs: jt.Var, near: float, far: float) -> jt.Var:
        """Sample distances z (R, N), sorted, inside [near, far]."""
        t = self.unit_samples(origins, unit_dirs)
        if self.inverse_depth:
            return 1.0 / ((1.0 / near) * (1.0 - t) + (1.0 / far) * t)
        return near * (1.0 - t) + far * t
