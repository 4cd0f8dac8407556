"""The NeRF radiance field: point (+ view direction) → raw density and RGB."""
from __future__ import annotations

from ..platform.backend import jt  # noqa: F401  (configures Jittor before it is imported)
from jittor import nn  # noqa: E402

from .encoding import attenuate_blocks, block_order, encoded_dims, positional_encoding, positional_encoding_blocks
from .fused import linear, relu
from .mlp import SkipMLP


class RadianceField(nn.Module):
    """NeRF MLP as in the official NeuSample code.

    Trunk: :class:`SkipMLP` over γ(x) (skip before layer depth // 2). Heads: ``density_out`` (width → 1, raw,
    ReLU applied in compositing); ``feature_out`` (width → width, no activation); ``color_hidden``
    ([feature, γ(d̂)] → width/2, ReLU); ``color_out`` (width/2 → 3, sigmoid).

    With ``interval_encoding`` (not in the paper) γ(x) is averaged over each point's share of its ray
    (:func:`attenuate_blocks`; the caller passes the variances, :func:`jneusample.rendering.interval_variances`).
    """

    @classmethod
    def from_config(cls, config) -> "RadianceField":
        """The radiance field a ``ModelConfig`` describes (widths, depths, frequencies, interval encoding): what
        every model (NeuSample, NeRF's two, the stratified control) builds."""
        return cls(width=config.radiance_width, depth=config.radiance_depth, position_freqs=config.position_freqs,
                   view_freqs=config.view_freqs, interval_encoding=config.interval_encoding)

    def __init__(self, width: int = 256, depth: int = 8, position_freqs: int = 10, view_freqs: int = 4,
                 interval_encoding: bool = False):
        super().__init__()
        self.position_freqs, self.view_freqs, self.width = position_freqs, view_freqs, width
        self.interval_encoding = interval_encoding
        """Whether :meth:`execute` wants the points' variances (``query_and_composite`` computes them)."""
        self.trunk = SkipMLP(encoded_dims(position_freqs), width, depth)
        self.density_out = nn.Linear(width, 1)
        self.feature_out = nn.Linear(width, width)
        self.color_hidden = nn.Linear(width + encoded_dims(view_freqs), width // 2)
        self.color_out = nn.Linear(width // 2, 3)

    def execute(self, points: jt.Var, view_dirs: jt.Var, variances: jt.Var | None = None):
        """Query the field at N points on each of R rays.

        Args:
            points: (R, N, 3) positions.
            view_dirs: (R, 3) unit view directions (one per ray: every point of a ray shares it).
            variances: (R, N, 3) per-coordinate variances of the points (``interval_encoding``), or None.
        Returns:
            raw density (R, N) and colour (R, N, 3) in (0, 1).

        Computed in an order that does less work than the layer-by-layer description, with the same values to
        float rounding (see docs/performance.md): γ(x) in block column order with the trunk's input weights
        permuted to match; ``feature_out`` has no activation, so it and the feature part of ``color_hidden``
        are one linear map, applied as the product W_cf·W_f (128×256) instead of two layers (−256×256
        multiply-adds per point); the view-direction part of ``color_hidden`` runs once per ray.
        """
        rays, n_points = points.shape[0], points.shape[1]
        encoded = positional_encoding_blocks(points.reshape([rays * n_points, 3]), self.position_freqs)
        if variances is not None:
            encoded = attenuate_blocks(encoded, variances.reshape([rays * n_points, 3]), self.position_freqs)
        h = self.trunk(encoded, input_columns=jt.array(block_order(self.position_freqs)))
        weight = self.color_hidden.weight  # (width/2, width + view dims): feature part first
        feature_weight = weight[:, : self.width]
        # [W_f h + b_f, γ(d)] @ W_c = h @ (W_cf W_f)ᵀ + (W_cf b_f + b_c + γ(d) @ W_cd): per point, then per ray
        fused_weight = jt.matmul(feature_weight, self.feature_out.weight)  # (width/2, width)
        per_ray = nn.matmul_transpose(positional_encoding(view_dirs, self.view_freqs), weight[:, self.width:])
        per_ray = per_ray + self.color_hidden.bias + nn.matmul_transpose(
            self.feature_out.bias.unsqueeze(0), feature_weight)  # (R, width/2)
        # Both per-point products of h as one matmul, h @ [W_cf W_f; w_σ]ᵀ + [0; b_σ]: h is read once, and the
        # backward's dh is one product instead of two (the density's alone is an outer product, K = 1).
        heads = linear([(h, jt.concat([fused_weight, self.density_out.weight], 0))],
                       jt.concat([jt.zeros(self.width // 2), self.density_out.bias], 0),
                       bf16=self.trunk.bf16_training)  # (R·N, width/2 + 1)
        density = heads[:, self.width // 2].reshape([rays, n_points])
        hidden = relu(heads[:, : self.width // 2].reshape([rays, n_points, -1]) + per_ray.unsqueeze(1))
        color = jt.sigmoid(self.color_out(hidden.reshape([rays * n_points, -1]))).reshape([rays, n_points, 3])
        return density, color
