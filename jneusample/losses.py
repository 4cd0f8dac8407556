"""The photometric loss, shared by the model and the samplers that supervise a pass of their own."""
from __future__ import annotations

from .platform.backend import jt


def mse(prediction: jt.Var, target: jt.Var) -> jt.Var:
    """Mean over rays and channels of the squared colour error: (R, 3), (R, 3) → scalar."""
    return ((prediction - target) ** 2).mean()
