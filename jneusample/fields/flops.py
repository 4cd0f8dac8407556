"""FLOPs of the fields' layers: what a ray costs, for the benchmark's cost accounting and the samplers' own."""
from __future__ import annotations

from ..platform.backend import jt  # noqa: F401  (configures Jittor before it is imported)
from jittor import nn  # noqa: E402  (type only)


def linear_flops(layer: nn.Linear) -> int:
    """2·in·out: the multiply-adds of one Linear layer per input row (bias adds not counted)."""
    out_features, in_features = layer.weight.shape
    return 2 * int(in_features) * int(out_features)


def radiance_flops(field, executed: bool = False) -> tuple[int, int]:
    """(per point, per ray) FLOPs of a RadianceField: the trunk and heads run per point; the view-direction
    part of the colour layer runs once per ray (every point of a ray shares the direction).

    ``executed``: what the implementation runs instead of the nominal layer list: ``feature_out`` and the
    feature part of ``color_hidden`` are applied as one (width/2 × width) product, i.e. without feature_out's
    width² per point (the per-chunk cost of forming the product is negligible and not counted).
    """
    per_point = sum(linear_flops(layer) for layer in field.trunk.layers)
    per_point += linear_flops(field.density_out) + linear_flops(field.feature_out) + linear_flops(field.color_out)
    hidden, inputs = field.color_hidden.weight.shape
    per_point += 2 * field.width * int(hidden)
    if executed:
        per_point -= linear_flops(field.feature_out)
    per_ray = 2 * (int(inputs) - field.width) * int(hidden)
    return per_point, per_ray
