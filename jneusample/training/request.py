"""What one training run is asked for, resolved to the run itself: the library's side of ``jneusample train``.

options (:class:`TrainOptions`) → checked (:func:`check_options`) → config and run folder (:func:`plan_run`: the
preset, or the run's saved config on resume, then the explicit options) → the preset's scene-dependent defaults and
the scene (:func:`load_training_scene`, :func:`jneusample.presets.resolve_for_scene`) → :func:`train_planned`.

The command only parses its arguments into :class:`TrainOptions` (and relaunches itself under ``mpirun`` when the
config asks for several processes); from Python the same options give the same run::

    options = TrainOptions(data="../shared/data/nerf_llff_data/fern", preset="paper")  # factor 4, 100 epochs
    result = train_planned(options, plan_run(options))

Nothing here imports Jittor before :func:`train_planned`: ``--print-config`` and the option checks stay instant.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, apply_overrides, preset
from ..data import DEMO_SCENE, Scene, detect_format, load_scene
from ..errors import InputError
from ..platform.runs import SceneInfo, config_path, read_config, read_scene_info, scene_folder, scene_info_path
from ..platform.startup import launcher_world_size, resolve_device
from ..presets import default_preset, recipe_overrides, resolve_for_scene, train_ray_count


@dataclass
class TrainOptions:
    """One training run as a user asks for it (``jneusample train``'s options); None: the default."""

    data: str | Path | None = None
    """Scene folder; None: the embedded demo scene, or on resume the run's own (its scene.json)."""
    preset: str | None = None
    """Preset name; None: :func:`jneusample.presets.default_preset` of the device, or on resume the run's own."""
    model: str | None = None
    """Model kind (``config.model.kind``); None: the preset's."""
    recipe: str | None = None
    """A named bundle of overrides (:data:`jneusample.presets.RECIPES`), applied before ``overrides``."""
    factor: int | None = None
    """Image downscale factor; None: the preset's, or its scene-dependent default (paper on LLFF: 4)."""
    steps: int | None = None
    """Training steps; None: the preset's, or its scene-dependent default (paper on LLFF: 100 epochs; under
    W MPI ranks: its steps / W). On resume a larger N extends the run to step N."""
    overrides: list[str] = field(default_factory=list)
    """``section.field=value`` config overrides (``--set``), applied last."""
    max_minutes: float | None = None
    """Stop with a checkpoint after this many minutes of training (a time schedule's budget); None: no limit."""
    stop_at: int | None = None
    """End this invocation at this step, with a checkpoint (resume continues bit-exactly)."""
    out: str | Path | None = None
    """Run folder; None: ``runs/<scene folder name>-<preset>``."""
    resume: bool = False
    """Continue the run in ``out`` from its newest checkpoint that loads."""
    allow_outside_paths: bool = False
    """Let the scene's files point outside its folder."""
    progress: bool = True
    """Show a progress bar."""

    def given(self, option: str, key: str) -> bool:
        """Whether the user chose ``key`` (section.field): the ``option`` field set, or an override of ``key``."""
        return getattr(self, option) is not None or any(item.split("=", 1)[0].strip() == key
                                                        for item in self.overrides)


@dataclass
class PlannedRun:
    """A checked request resolved to its config, scene folder and run folder (before the scene's defaults)."""

    config: Config
    """The preset (or the saved config on resume) with the explicit options on top."""
    data: Path
    """The scene folder to train on."""
    out: Path
    """The run folder."""
    new_run: bool
    """False when resuming a run that has a saved config: its config is kept, no scene default is applied."""
    allow_outside_paths: bool
    """As asked, or as the resumed run's scene.json recorded."""


def check_options(options: TrainOptions) -> None:
    """One-line errors for option values that no run can use, before anything is loaded."""
    if options.max_minutes is not None and not (math.isfinite(options.max_minutes) and options.max_minutes > 0):
        raise InputError(f"--max-minutes must be a positive number of minutes, got {options.max_minutes:g} "
                         "(omit it for no time limit)")
    if options.stop_at is not None and options.stop_at < 1:
        raise InputError(f"--stop-at must be a step >= 1, got {options.stop_at}")
    if options.steps is not None and options.steps < 1:
        raise InputError(f"--steps must be >= 1, got {options.steps}")
    if options.factor is not None and options.factor < 1:
        raise InputError(f"--factor must be a positive integer, got {options.factor}")


def build_config(options: TrainOptions, saved: Config | None = None, default: str = "cpu") -> Config:
    """The requested config: ``saved`` (the run's, on resume) or the preset (``default`` when none is named), then
    the explicit options.

    On resume only what the user typed goes on top of the saved config, so that any change is seen by the resume
    check (a different preset included) and nothing changes silently to a preset's default.
    """
    if saved is not None:
        config = saved
        if options.preset is not None:
            config.preset = options.preset  # a different preset is refused as a config change
    else:
        config = preset(options.preset or default)
    if options.model:
        config.model.kind = options.model
    if options.factor is not None:
        config.data.factor = options.factor
    if options.steps is not None:
        config.train.steps = options.steps
    return apply_overrides(config, [*recipe_overrides(options.recipe), *options.overrides])


def plan_run(options: TrainOptions, device: str | None = None) -> PlannedRun:
    """Check ``options`` and resolve the config, scene folder and run folder (``device``: the default preset's;
    None: :func:`jneusample.platform.startup.resolve_device`, which does not import Jittor)."""
    check_options(options)
    device = device or resolve_device().device
    preset_name = options.preset or default_preset(device)
    data = Path(options.data) if options.data else DEMO_SCENE
    out = Path(options.out) if options.out else Path("runs") / f"{data.name}-{preset_name}"
    allow_outside = bool(options.allow_outside_paths)
    saved = read_config(out) if options.resume and config_path(out).is_file() else None
    if saved is not None and not options.data and scene_info_path(out).is_file():
        # a resumed run trains on its own scene (not the demo scene), read where its scene.json says
        saved_info = read_scene_info(out)
        data = scene_folder(out, saved_info)
        allow_outside = allow_outside or saved_info.allow_outside_paths
    return PlannedRun(build_config(options, saved, default=preset_name), data, out, saved is None, allow_outside)


def load_training_scene(options: TrainOptions, config: Config, data: Path, new_run: bool,
                        world_size: int | None = None, load: bool = True,
                        allow_outside_paths: bool | None = None) -> Scene | None:
    """Apply the preset's scene-dependent values for a new run (:func:`jneusample.presets.resolve_for_scene`,
    a note on stderr each; what ``factor`` / ``steps`` / an override chose stays; a resumed run keeps its saved
    config), then load the scene. ``world_size`` None: this process's MPI job's (imports Jittor). ``load=False``
    reads the scene only where a default needs it (LLFF's ray pool) and returns None.
    """
    if world_size is None:
        from ..platform import backend  # deferred: Jittor starts only when the run does

        world_size = backend.world_size()
    allow = options.allow_outside_paths if allow_outside_paths is None else allow_outside_paths
    loaded: list[Scene] = []

    def load_now(config: Config) -> Scene:
        loaded.append(load_scene(data, factor=config.data.factor, testskip=config.data.testskip,
                                 allow_outside=allow))
        return loaded[-1]

    if new_run:
        given = {key for option, key in (("factor", "data.factor"), ("steps", "train.steps"))
                 if options.given(option, key)}
        resolve_for_scene(config, data, detect_format(data), given, world_size,
                          train_rays=lambda config: train_ray_count(load_now(config)),
                          note=lambda text: print(f"note: {text}", file=sys.stderr))
    if not load:
        return None
    return loaded[-1] if loaded else load_now(config)


def resolved_config(options: TrainOptions, plan: PlannedRun) -> Config:
    """The config the run would train with (``--print-config``), nothing trained or written: the scene-dependent
    defaults (the scene read only for LLFF's ray pool; the MPI world size from the launcher's environment, so
    Jittor is not started) and ``max_minutes``, which becomes a time schedule's budget (``train.minutes``)."""
    config = plan.config
    load_training_scene(options, config, plan.data, plan.new_run, world_size=launcher_world_size(), load=False,
                        allow_outside_paths=plan.allow_outside_paths)
    if options.max_minutes and config.train.schedule == "time":
        config.train.minutes = float(options.max_minutes)  # as train() does with max_minutes
    return config


def train_planned(options: TrainOptions, plan: PlannedRun):
    """Load the scene (after its defaults) and train: :func:`jneusample.training.trainer.train`'s TrainResult."""
    from .trainer import train  # deferred: imports Jittor

    scene = load_training_scene(options, plan.config, plan.data, plan.new_run,
                                allow_outside_paths=plan.allow_outside_paths)
    info = SceneInfo(data=str(plan.data.resolve()), format=scene.format, factor=plan.config.data.factor,
                     height=scene.intrinsics.height, width=scene.intrinsics.width,
                     allow_outside_paths=plan.allow_outside_paths)  # eval and render read the same files
    return train(plan.config, scene, plan.out, resume=options.resume, max_minutes=options.max_minutes,
                 progress=options.progress, scene_info=info, stop_at=options.stop_at)
