"""The reset of a collapsed sample field during training: its placement back at the start, its Adam moments
cleared (``train.reset_collapsed_sample_field``; the measure is :mod:`jneusample.samplers.collapse`)."""
from __future__ import annotations

from ..platform import distributed
from ..platform.backend import jt
from ..samplers import collapse
from .optim import clear_moments


def reset_if_collapsed(model, optimizer, z: jt.Var, near: float, far: float) -> float | None:
    """When more than ``collapse.COLLAPSED_RAYS_RESET`` of the training step's rays each have more than
    ``collapse.SAMPLES_AT_ENDS_WARNING`` of their samples ``z`` (R, N) at the rays' ends
    (:func:`~jneusample.samplers.collapse.collapsed_rays`; the mean over MPI ranks, which all have R rays:
    collective, every rank calls it at the same step), reset the
    model's sampler (:meth:`~jneusample.samplers.base.Sampler.reset_if_collapsed`) and clear its Adam moments
    (:func:`~jneusample.training.optim.clear_moments`: its next update is a fresh Adam's).

    Returns that share of rays when it reset, else None (no collapse, or a model without a learnt sampler). The
    decision and the reset are deterministic, so a resumed run makes the same ones.
    """
    share = distributed.mean_over_ranks(collapse.collapsed_rays(z.numpy(), near, far))
    if share <= collapse.COLLAPSED_RAYS_RESET:
        return None
    params = model.sampler.reset_if_collapsed()
    if not params:
        return None
    clear_moments(optimizer, params)
    return share
