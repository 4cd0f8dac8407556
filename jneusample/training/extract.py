"""Sample field extraction: a trained N-sample model → an N_e-sample model (N_e < N), fine-tuned.

As the reference port does it (docs/method.md §5): keep the sample-field trunk and the radiance field, replace
the sample field's output layer by a fresh width → N_e layer, and fine-tune everything with the same photometric
loss, the sample field at 5e-4 and the radiance field at 5e-5 (constant), no precrop. Unlike the port, every
parameter is in exactly one optimizer group.

Render settings of the fine-tune: the child run inherits the parent's whole config except the head width, the
step count and precrop (:func:`extraction_config`), and the background comes from the scene, so it trains under
the parent's own *training* conditions:

- density noise: ``render.density_noise_std`` of the parent, i.e. std 1 for a ``paper`` run (ReLU density) and
  0 for a ``cpu`` run (softplus density, which needs no noise); ``tiny`` runs, like ``paper``, use 1. As always,
  validation and evaluation render without noise.
- background: the scene's, white for Blender scenes (in training and evaluation, docs/method.md §7.1), none
  (black) for LLFF scenes; ``transforms.json`` scenes say which.

Distilled extraction (:mod:`jneusample.training.distill`, docs/method.md §5): ``extract.head_init='quantiles'`` starts
the new head at the quantiles of the parent's compositing weights pooled over training rays instead of evenly
along the ray, and ``extract.distill='coverage'`` has the parent, frozen, render each training ray too (without
noise) and adds a loss that pulls the child's samples onto the parent's weights. With 'fresh' and 'none' the
extraction is the port's.

Why: extraction should change the sampler only. The radiance field is kept and barely moved (5e-5), so it
keeps seeing the conditions it was trained under; another noise level or background would change the objective
under it at the same time as the sampler, and its loss would no longer measure the new head alone. For ReLU
(``paper``) runs the noise also keeps a gradient where the raw density is negative at the fresh head's first
sample positions (config.py, ``model.density_activation``); softplus (``cpu``) has that gradient without noise.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from ..platform.backend import jt
from ..platform.checkpoint import list_checkpoints, load_model_state, model_state
from ..config import Config, apply_overrides
from ..data import load_scene
from ..data.batches import RayBatcher
from ..data.scene import Scene
from ..samplers.stratified import unit_positions
from .distill import CoverageDistillation, pooled_start
from ..errors import InputError
from ..models.model import Model
from ..models.registry import build_model, sampler_class
from ..rendering import render_rays, render_settings
from ..platform.runs import config_path, load_run, read_config, read_scene_info, scene_folder
from .trainer import TrainResult, train


def extraction_config(parent: Config, parent_dir: Path, parent_step: int, n_samples: int,
                      steps: int | None) -> Config:
    """The child run's config: the parent's, with N_e samples, the extraction schedule and a link to the parent."""
    if not sampler_class(parent.model.kind).supports_extraction:
        raise InputError(f"{parent_dir}: sample field extraction needs a NeuSample run, this one is {parent.model.kind!r}")
    if parent.model.sample_field_head != "paper":
        raise InputError(f"{parent_dir}: this run's sample field has the any-N {parent.model.sample_field_head!r} "
                         f"head, which needs no extraction: render it at N_e with --samples (eval, render, "
                         f"plot-samples)")
    if not 1 < n_samples < parent.model.n_samples:
        raise InputError(f"--samples {n_samples}: must satisfy 1 < N_e < N = {parent.model.n_samples} of {parent_dir}")
    child = copy.deepcopy(parent)
    child.model.n_samples = n_samples
    child.train.steps = steps if steps is not None else parent.extract.steps
    child.train.precrop_steps = 0
    child.extract.parent = str(Path(parent_dir).resolve())
    child.extract.parent_step = parent_step
    if child.train.steps < 1:
        raise InputError(f"--steps must be >= 1, got {child.train.steps}")
    return child


FIXED_KEYS = ("model.", "extract.parent")
"""Config keys an extraction's ``--set`` may not change: the model is the parent's (its weights are loaded),
the parent link is the command's."""


def resumed_extraction_config(fresh: Config, saved: Config, steps: int | None) -> Config:
    """On ``--resume``: the saved run's config (its ``--set`` choices included, so they need not be repeated),
    with the model and parent link the parent gives now (a changed parent is then refused by the resume check
    of :func:`jneusample.platform.runs.prepare_run_dir`) and ``--steps`` when given."""
    config = copy.deepcopy(saved)
    config.model = copy.deepcopy(fresh.model)
    config.extract.parent, config.extract.parent_step = fresh.extract.parent, fresh.extract.parent_step
    if steps is not None:
        config.train.steps = steps
    return config


def apply_extraction_overrides(config: Config, overrides: list[str]) -> Config:
    """``--set key=value`` on the child's config (e.g. ``extract.distill=coverage``), model and parent keys
    excepted."""
    for item in overrides:
        if item.split("=", 1)[0].strip().startswith(FIXED_KEYS):
            raise InputError(f"--set {item!r}: an extraction keeps the parent's model and parent link "
                             "(N_e is --samples)")
    return apply_overrides(config, list(overrides))


def extraction_loss(config: Config, parent: Model | None, scene: Scene) -> CoverageDistillation | None:
    """The extra loss term of ``config.extract.distill`` (None for 'none'): the parent renders with the
    evaluation settings (no density noise), so the term is deterministic."""
    if config.extract.distill == "none":
        return None
    return CoverageDistillation(parent, render_settings(scene, config, training=False),
                                config.extract.distill_weight, config.extract.distill_color_weight)


START_RAYS = 8192
"""Training rays whose parent weights, pooled, place the new head's start (``extract.head_init='quantiles'``).
The parent renders them once, in chunks (seconds on a CPU)."""
START_STREAM = 1 << 20
"""The batcher stream of those rays (training ranks use streams 0, 1, …): a draw of their own."""


def pooled_start_distances(parent: Model, scene: Scene, config: Config, n_samples: int) -> np.ndarray:
    """The N_e distances where the child starts on every ray: the parent renders :data:`START_RAYS` training
    rays (drawn with ``train.seed``, without noise) and :func:`~jneusample.training.distill.pooled_start` places the
    samples by its pooled weights. Returns (N_e,) ascending distances in [near, far]."""
    batch = RayBatcher(scene, START_RAYS, precrop_fraction=1.0, precrop_steps=0, seed=config.train.seed,
                       stream=START_STREAM, across_views=True).sample(0)
    settings = render_settings(scene, config, training=False)
    rendered = render_rays(parent, batch.origins, batch.directions, batch.view_dirs, settings,
                           config.render.chunk_points, keep=("z", "weights"))
    t = pooled_start(unit_positions(rendered["z"].astype(np.float64), settings.near, settings.far),
                     rendered["weights"], n_samples)
    return settings.near + t * (settings.far - settings.near)


def extract(parent_dir: str | Path, n_samples: int, out_dir: str | Path, steps: int | None = None,
            resume: bool = False, max_minutes: float | None = None, progress: bool = True,
            overrides: list[str] | tuple[str, ...] = ()) -> TrainResult:
    """Build (or resume) the extracted run in ``out_dir`` and fine-tune it (``overrides``: ``--set`` strings
    for the child's config)."""
    parent_dir, out_dir = Path(parent_dir), Path(out_dir)
    parent = load_run(parent_dir)
    info = read_scene_info(parent_dir)
    config = extraction_config(parent.config, parent_dir, parent.step, n_samples, steps)
    if resume and config_path(out_dir).is_file():
        config = resumed_extraction_config(config, read_config(out_dir), steps)
    config = apply_extraction_overrides(config, list(overrides))
    if Path(out_dir).resolve() == parent_dir.resolve():
        raise InputError(f"{out_dir}: --out must differ from the parent run")
    initial = None
    if not resume or not list_checkpoints(out_dir):  # also an extraction killed before its first checkpoint
        # the fresh head's initial weights come from train.seed, so that an extraction is reproducible
        jt.set_global_seed(config.train.seed, different_seed_for_mpi=False)
        parent.model.sampler.prepare_extraction(n_samples)
        initial = model_state(parent.model)
    scene = load_scene(scene_folder(parent_dir, info, data_option=False), factor=config.data.factor, testskip=config.data.testskip,
                       allow_outside=info.allow_outside_paths)
    teacher = None
    if config.extract.distill != "none" or (initial is not None and config.extract.head_init == "quantiles"):
        # a second, untouched copy of the parent, frozen: no optimizer group holds its parameters
        teacher = build_model(parent.config.model)
        load_model_state(teacher, parent.checkpoint["model"], parent.checkpoint_path)
    if initial is not None and config.extract.head_init == "quantiles":
        parent.model.sampler.start_extraction_at(pooled_start_distances(teacher, scene, config, n_samples), scene.near,
                                         scene.far)
        initial = model_state(parent.model)
    return train(config, scene, out_dir, resume=resume, max_minutes=max_minutes, progress=progress,
                 scene_info=info, initial_model=initial, extra_loss=extraction_loss(config, teacher, scene))
