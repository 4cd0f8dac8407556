"""What a preset takes from the scene it trains on: the official per-dataset settings (docs/method.md §3).

Presets (:mod:`jneusample.config`) are about compute and do not know the scene. The ``paper`` preset is the
official *Blender* configuration; the official *LLFF* configuration differs in two numbers that depend on the
data, and :func:`scene_defaults` is the one place that says so:

- images at **factor 4** (1008x756 for fern; the official ``nerf_llff_data`` loader reads ``images_4/``);
- **100 epochs of the training ray pool** instead of a fixed 400k steps: an epoch is
  ceil(N_train·H·W / rays per step) iterations (all training rays of all training views, 4096 per step), so fern
  (17 training views at 1008x756) trains 100 · 3,163 = 316,300 steps. The learning rate then decays linearly
  per step over them, from 5e-4 to 5e-6, as in the official config.

Everything else of the official LLFF config is already the scene's (NDC rays, rays drawn from all training views,
no precrop, every 8th view held out).

Under ``mpirun -np W`` the ``paper`` preset keeps the official *total* number of rays on every format: each rank
draws ``train.rays_per_step`` rays, so a step sees W times as many. LLFF's epochs are counted at W·4096 rays per
step; on the other formats (Blender's 400k steps) the steps are divided by W, rounded up, as the official code does
on W GPUs (mmcv's ``DistributedSampler`` gives each GPU 2000/W of an epoch's 2000 iterations, for 200 epochs).

The other presets (``cpu``, ``quick``, ``tiny``) keep their own values, except that every preset reads an LLFF
scene that ships no full-size images (only ``images_8/``, as the usual downloads) at factor 8.
:func:`resolve_for_scene` applies all of this to a config, where the user did not choose the value (for a new
run, with what ``--factor`` / ``--steps`` / ``--set`` gave): :mod:`jneusample.training.request` calls it, for the
``train`` command and for Python callers alike.

The preset itself, when ``--preset`` is not given, follows the device (:func:`default_preset`). A **recipe**
(:data:`RECIPES`, ``train --recipe NAME``) is a named bundle of overrides on top of any preset: a choice of
method, not of compute.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

from .config import Config
from .errors import InputError

LLFF_PAPER_FACTOR = 4
"""Downscale factor of the official LLFF configuration (4032x3024 → 1008x756)."""
LLFF_PAPER_EPOCHS = 100
"""Epochs of the training ray pool the official LLFF configuration trains for."""
LLFF_DOWNSCALED_FACTOR = 8
"""Factor of an LLFF scene without full-size images (the standard protocol's, and its smallest images)."""

RECIPES: dict[str, tuple[str, ...]] = {
    "proposal": ("model.sample_field_head=quantile", "model.sample_field_proposal_loss=1",
                 "model.sample_field_probes=16", "model.sample_field_init=default", "train.sample_field_lr_scale=1",
                 "model.origin_freqs=2", "model.direction_freqs=4", "model.sample_field_probe_share=0.25",
                 "model.sample_field_depth=4"),
}
"""Named bundles of config overrides (``train --recipe NAME``, applied before ``--set``).

``proposal``: the sample field that learns per-ray placement ("recipe B" of docs/benchmarks.md, docs/method.md
§9): the quantile head taught where each ray's content is by a probe pass of the radiance field on a quarter of
each step's rays (mip-NeRF 360's interlevel bound), the official head initialisation at the radiance field's rate,
low encoding frequencies for the ray and a 4-layer field. At equal time it beats stratified sampling at N = 8
and 16 and loses to it at N = 32 and 64 on lego (README, "Does the sample field earn its place?"), so no preset
uses it yet.
"""


def recipe_overrides(name: str | None) -> list[str]:
    """The overrides of recipe ``name`` ([] for None); an unknown name is a one-line error."""
    if name is None:
        return []
    if name not in RECIPES:
        raise InputError(f"unknown recipe {name!r} (choose from: {', '.join(RECIPES)})")
    return list(RECIPES[name])


def steps_for_epochs(epochs: int, n_train_rays: int, rays_per_step: int) -> int:
    """Steps of ``epochs`` passes over a pool of ``n_train_rays`` rays, ``rays_per_step`` rays a step (the last
    step of an epoch may be partial, as with a data loader that keeps its last batch)."""
    if n_train_rays < 1 or rays_per_step < 1:
        raise ValueError(f"need positive ray counts, got pool {n_train_rays}, {rays_per_step} per step")
    return epochs * math.ceil(n_train_rays / rays_per_step)


def steps_for_ranks(steps: int, world_size: int) -> int:
    """Steps of a run that sees as many rays as ``steps`` single-process steps when ``world_size`` ranks each draw
    a step's rays: ceil(steps / world_size). (For W dividing 2000, e.g. 2, 4, 8, 400k/W is exactly the official
    count on W GPUs; otherwise the official sampler rounds each of its 200 epochs up, at most 199 steps more.)"""
    if steps < 1 or world_size < 1:
        raise ValueError(f"need a positive step count and world size, got {steps} steps, {world_size} ranks")
    return math.ceil(steps / world_size)


def scene_defaults(config: Config, scene_format: str, n_train_rays: int | None = None,
                   world_size: int = 1) -> dict[str, int]:
    """The values ``config``'s preset takes on a scene of ``scene_format`` under ``world_size`` MPI ranks, as
    ``{"factor": F, "steps": S}`` (either key may be absent; empty when the preset's own values hold).

    ``paper`` on an LLFF scene: factor 4, and, once the training ray pool at that factor is known
    (``n_train_rays`` = training views × H × W), 100 epochs of it at ``train.rays_per_step × world_size`` rays
    per step (MPI ranks each draw their own rays). Without ``n_train_rays`` only the factor is returned: the
    caller picks the factor, loads the scene, and asks again for the steps.

    ``paper`` on any other format: with ``world_size`` W > 1, ``train.steps`` / W rounded up (the same rays in
    total as one process, W times as many per step); nothing with one process.
    """
    if config.preset != "paper":
        return {}
    ranks = max(1, world_size)
    if scene_format != "llff":
        return {"steps": steps_for_ranks(config.train.steps, ranks)} if ranks > 1 else {}
    values = {"factor": LLFF_PAPER_FACTOR}
    if n_train_rays is not None:
        values["steps"] = steps_for_epochs(LLFF_PAPER_EPOCHS, n_train_rays, config.train.rays_per_step * ranks)
    return values


def llff_without_full_size(data: str | Path) -> bool:
    """An LLFF scene folder that ships only downscaled images (``images_8/`` but no ``images/``)."""
    data = Path(data)
    return (data / "poses_bounds.npy").exists() and not (data / "images").is_dir() and (data / "images_8").is_dir()


def train_ray_count(scene) -> int:
    """The training ray pool of a loaded scene: training views × H × W (for ``resolve_for_scene``'s
    ``train_rays``)."""
    return len(scene.split("train")) * scene.intrinsics.height * scene.intrinsics.width


def resolve_for_scene(config: Config, data_path: str | Path, scene_format: str,
                      given: set[str] | frozenset[str] = frozenset(), world_size: int = 1,
                      train_rays: Callable[[Config], int] | None = None,
                      note: Callable[[str], None] | None = None) -> tuple[Config, list[str]]:
    """Apply what ``config``'s preset takes from the scene in ``data_path`` (of ``scene_format``) under
    ``world_size`` MPI ranks, to every field not in ``given`` (the ``section.field`` keys the user chose), for a
    new run; returns the config (changed in place) and a note for each value set, as ``jneusample train`` prints
    them after ``note: ``.

    - ``paper`` on an LLFF scene: factor 4, then 100 epochs of the training rays at that factor
      (:func:`scene_defaults`); counting them needs the scene at the resolved factor: ``train_rays(config)``
      returns the pool (e.g. :func:`train_ray_count` of the scene loaded with ``config.data.factor``; it is
      called only then, and is required then);
    - ``paper`` on another format under W > 1 ranks: ``train.steps`` / W;
    - any preset at factor 1 on an LLFF scene without full-size images: factor 8.

    ``note(text)``, when given, is also called with each note as it is made (before ``train_rays`` loads the
    scene, for the notes before it).
    """
    notes: list[str] = []

    def say(text: str) -> None:
        notes.append(text)
        if note is not None:
            note(text)

    defaults = scene_defaults(config, scene_format, world_size=world_size)
    if "factor" in defaults and "data.factor" not in given:
        config.data.factor = defaults["factor"]
        say(f"paper preset on an LLFF scene: --factor {config.data.factor} (the official LLFF config; pass --factor "
            "to choose another)")
    elif "data.factor" not in given and config.data.factor == 1 and llff_without_full_size(data_path):
        # LLFF scenes usually ship only downscaled images; the standard protocol trains at factor 8.
        config.data.factor = LLFF_DOWNSCALED_FACTOR
        say(f"LLFF scene without full-size images/: using --factor {LLFF_DOWNSCALED_FACTOR} (the standard protocol)")
    if "steps" in defaults and "train.steps" not in given:
        # Each rank draws its own rays: W ranks see W times as many per step, so as many rays as the official
        # single-GPU run (and as the official code on W GPUs) take steps / W.
        say(f"paper preset under {world_size} MPI ranks: --steps {defaults['steps']} ({config.train.steps:,} "
            f"/ {world_size}: the same rays in total as one process; pass --steps to choose another)")
        config.train.steps = defaults["steps"]
    if needs_train_rays(config, scene_format, given):
        if train_rays is None:
            raise ValueError("resolve_for_scene: the paper preset on an LLFF scene needs train_rays to count its "
                             "training rays")
        pool = train_rays(config)
        config.train.steps = scene_defaults(config, scene_format, pool, world_size)["steps"]
        say(f"paper preset on an LLFF scene: --steps {config.train.steps} ({LLFF_PAPER_EPOCHS} epochs of the "
            f"{pool:,} training rays at {config.train.rays_per_step * world_size} rays per step, "
            "the official LLFF config; pass --steps to choose another)")
    return config, notes


def needs_train_rays(config: Config, scene_format: str, given: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether :func:`resolve_for_scene` counts the scene's training rays (calls ``train_rays``)."""
    return "factor" in scene_defaults(config, scene_format) and "train.steps" not in given  # paper on LLFF


def default_preset(device: str) -> str:
    """The preset of a new ``jneusample train`` run without ``--preset``: ``paper`` (the published configuration)
    when it runs on a CUDA GPU (``device == "cuda"``, as :func:`jneusample.platform.startup.resolve_device` decides), else
    ``cpu`` (learns in minutes on a CPU, where ``paper`` would take weeks)."""
    return "paper" if device == "cuda" else "cpu"


__all__ = ["LLFF_DOWNSCALED_FACTOR", "LLFF_PAPER_EPOCHS", "LLFF_PAPER_FACTOR", "default_preset",
           "llff_without_full_size", "needs_train_rays", "resolve_for_scene", "scene_defaults", "steps_for_epochs",
           "steps_for_ranks", "train_ray_count"]
