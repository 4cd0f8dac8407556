"""The NeRF radiance field: point (+ view direction) → raw density and RGB."""
from __future__ import annotations

from ..backend import jt  # noqa: F401  (configures Jittor before it is imported)
from jittor import nn  # noqa: E402

from .encoding import encoded_dims, positional_encoding
from .mlp import SkipMLP


class RadianceField(nn.Module):
    """NeRF MLP as in the official NeuSample code.

    Trunk: :class:`SkipMLP` over γ(x) (skip before layer depth // 2). Heads: ``density_out`` (width → 1, raw,
    ReLU applied in compositing); ``feature_out`` (width → width, no activation); ``color_hidden``
    ([feature, γ(d̂)] → width/2, ReLU); ``color_out`` (width/2 → 3, sigmoid).
    """

    def __init__(self, width: int = 256, depth: int = 8, position_freqs: int = 10, view_freqs: int = 4):
        super().__init__()
        self.position_freqs, self.view_freqs, self.width = position_freqs, view_freqs, width
        self.trunk = SkipMLP(encoded_dims(position_freqs), width, depth)
        self.density_out = nn.Linear(width, 1)
        self.feature_out = nn.Linear(width, width)
        self.color_hidden = nn.Linear(width + encoded_dims(view_freqs), width // 2)
        self.color_out = nn.Linear(width // 2, 3)

    def execute(self, points: jt.Var, view_dirs: jt.Var):
        """Query the field at N points on each of R rays.

        Args:
            points: (R, N, 3) positions.
            view_dirs: (R, 3) unit view directions (one per ray: every point of a ray shares it).
        Returns:
            raw density (R, N) and colour (R, N, 3) in (0, 1).
        """
        rays, n_points = points.shape[0], points.shape[1]
        h = self.trunk(positional_encoding(points.reshape([rays * n_points, 3]), self.position_freqs))
        density = self.density_out(h).reshape([rays, n_points])
        feature = self.feature_out(h)
        # [feature, γ(d)] @ W = feature @ W_f + γ(d) @ W_d: the view term is computed once per ray and broadcast
        # over the ray's points instead of being concatenated to every point.
        weight = self.color_hidden.weight
        view_term = nn.matmul_transpose(positional_encoding(view_dirs, self.view_freqs), weight[:, self.width:])
        hidden = nn.matmul_transpose(feature, weight[:, : self.width]).reshape([rays, n_points, -1])
        hidden = nn.relu(hidden + view_term.unsqueeze(1) + self.color_hidden.bias)
        color = jt.sigmoid(self.color_out(hidden.reshape([rays * n_points, -1]))).reshape([rays, n_points, 3])
        return density, color
