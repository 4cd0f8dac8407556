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

Why: extraction should change the sampler only. The radiance field is kept and barely moved (5e-5), so it
keeps seeing the conditions it was trained under; another noise level or background would change the objective
under it at the same time as the sampler, and its loss would no longer measure the new head alone. For ReLU
(``paper``) runs the noise also keeps a gradient where the raw density is negative at the fresh head's first
sample positions (config.py, ``model.density_activation``); softplus (``cpu``) has that gradient without noise.
"""
from __future__ import annotations

import copy
from pathlib import Path

from .checkpoint import list_checkpoints, model_state
from .config import Config
from .data import load_scene
from .errors import InputError
from .model_registry import model_class
from .runs import load_run, read_scene_info
from .train import TrainResult, train


def extraction_config(parent: Config, parent_dir: Path, parent_step: int, n_samples: int,
                      steps: int | None) -> Config:
    """The child run's config: the parent's, with N_e samples, the extraction schedule and a link to the parent."""
    if not model_class(parent.model.kind).supports_extraction:
        raise InputError(f"{parent_dir}: sample field extraction needs a NeuSample run, this one is {parent.model.kind!r}")
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


def extract(parent_dir: str | Path, n_samples: int, out_dir: str | Path, steps: int | None = None,
            resume: bool = False, max_minutes: float | None = None, progress: bool = True) -> TrainResult:
    """Build (or resume) the extracted run in ``out_dir`` and fine-tune it."""
    parent_dir, out_dir = Path(parent_dir), Path(out_dir)
    parent = load_run(parent_dir)
    info = read_scene_info(parent_dir)
    config = extraction_config(parent.config, parent_dir, parent.step, n_samples, steps)
    if Path(out_dir).resolve() == parent_dir.resolve():
        raise InputError(f"{out_dir}: --out must differ from the parent run")
    initial = None
    if not resume or not list_checkpoints(out_dir):  # also an extraction killed before its first checkpoint
        parent.model.prepare_extraction(n_samples)
        initial = model_state(parent.model)
    scene = load_scene(info["data"], factor=config.data.factor, testskip=config.data.testskip,
                       allow_outside=bool(info.get("allow_outside_paths")))
    return train(config, scene, out_dir, resume=resume, max_minutes=max_minutes, progress=progress,
                 scene_info=info, initial_model=initial)
