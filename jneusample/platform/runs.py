"""A run directory: its config, checkpoints, metrics log, and loading a trained model back from it.

Layout::

    RUN_DIR/config.json          the resolved Config (reproduces the run)
    RUN_DIR/scene.json           where the data came from (path, format, factor)
    RUN_DIR/checkpoints/step_XXXXXXXX.ckpt
    RUN_DIR/checkpoints/val.json  {step: validation PSNR} of the checkpoints written where training validated
    RUN_DIR/metrics.jsonl        one JSON object per log line (train loss/PSNR, validation PSNR)
    RUN_DIR/eval_<split>/        written by ``jneusample eval``
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import fileio
from .checkpoint import (best_checkpoint, checkpoint_path, list_checkpoints, load_checkpoint, load_model_state, load_newest_checkpoint)
from ..config import RESUMABLE_KEYS, Config, differences, validate
from ..errors import InputError


def config_path(run_dir: Path) -> Path:
    return Path(run_dir) / "config.json"


def scene_info_path(run_dir: Path) -> Path:
    return Path(run_dir) / "scene.json"


def read_config(run_dir: Path) -> Config:
    """The run's saved config, checked as ``--set`` values are: an unknown key, a wrong type or a value no run
    can use (``model.n_samples: -3``) is a one-line InputError naming ``config.json``, before any command
    builds a model from it (every command reads a run's config here)."""
    path = config_path(run_dir)
    values = fileio.read_json(path, missing=f"missing (is {run_dir} a JNeuSample run directory?)")
    if not isinstance(values, dict):
        raise InputError(f"{path}: expected a JSON object")
    config = Config.from_dict(values, source=str(path))
    try:
        validate(config)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    return config


def write_config(run_dir: Path, config: Config) -> None:
    fileio.atomic_write_text(config_path(run_dir), config.to_json() + "\n")


@dataclass(frozen=True)
class SceneInfo:
    """A run's ``scene.json``: which scene it was trained on, read back by every command that loads the run
    (eval, render, export, view, placement, plot-samples, extract). Written once by training
    (:func:`write_scene_info`), read and checked only by :func:`read_scene_info`; other keys in the file are
    ignored (a newer version may add some)."""

    data: str
    """The scene folder (absolute path when ``jneusample train`` wrote it)."""
    format: str
    """The scene format: blender, llff or transforms (:func:`jneusample.data.detect_format`)."""
    factor: int
    """The image downscale factor the run was trained at (>= 1): the commands' default ``--factor``."""
    height: int | None = None
    """Image height at ``factor`` (informative)."""
    width: int | None = None
    """Image width at ``factor`` (informative)."""
    allow_outside_paths: bool = False
    """Training was given ``--allow-outside-paths``: the commands read the same files."""

    @classmethod
    def from_dict(cls, values: Any, source: str | Path) -> "SceneInfo":
        """Checked field by field: a missing key or a wrong type (``factor: "big"``) is a one-line InputError
        naming ``source``."""
        problem = _scene_info_problem(values)
        if problem:
            raise InputError(f"{source}: {problem}")
        return cls(**{key: values[key] for key in SCENE_INFO_FIELDS if key in values})

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to ``scene.json``: unset sizes and a false ``allow_outside_paths`` are left
        out (the files written before this class had them only when set)."""
        values: dict[str, Any] = {"data": self.data, "format": self.format, "factor": self.factor}
        if self.height is not None:
            values["height"] = self.height
        if self.width is not None:
            values["width"] = self.width
        if self.allow_outside_paths:
            values["allow_outside_paths"] = True
        return values


def write_scene_info(run_dir: Path, info: SceneInfo | dict[str, Any]) -> None:
    """Write ``scene.json``; a dict (older callers, tests) is checked as :func:`read_scene_info` checks the file."""
    if not isinstance(info, SceneInfo):
        info = SceneInfo.from_dict(info, source=scene_info_path(run_dir))
    fileio.write_json(scene_info_path(run_dir), info.to_dict())


def _scene_info_fields() -> dict[str, tuple[type, bool]]:
    hints = typing.get_type_hints(SceneInfo)
    fields = {}
    for field in dataclasses.fields(SceneInfo):
        kinds = [kind for kind in typing.get_args(hints[field.name]) if kind is not type(None)]
        fields[field.name] = (kinds[0] if kinds else hints[field.name], field.default is dataclasses.MISSING)
    return fields


SCENE_INFO_FIELDS: dict[str, tuple[type, bool]] = _scene_info_fields()
"""``scene.json``'s fields, from :class:`SceneInfo`'s: (type, required)."""
_KIND_NAMES = {str: "a text", int: "an integer", bool: "true or false"}


def _scene_info_problem(info: Any) -> str | None:
    """What is wrong with the content of a ``scene.json`` (None when nothing is)."""
    if not isinstance(info, dict):
        return "expected a JSON object with the scene's 'data' folder, 'format' and 'factor'"
    for key, (kind, required) in SCENE_INFO_FIELDS.items():
        if key not in info:
            if required:
                return f"lacks {key!r} (expected the scene's 'data' folder, 'format' and 'factor')"
            continue
        value = info[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"{key} must be {_KIND_NAMES[kind]}, got {value!r}"
        if kind is int and value < 1:
            return f"{key} must be a positive integer, got {value!r}"
        if kind is str and (not value or "\0" in value):
            return f"{key} must be a non-empty text without NUL bytes, got {value!r}"
    return None


def read_scene_info(run_dir: Path) -> SceneInfo:
    """The run's ``scene.json`` (which data, format and factor it was trained on), checked field by field: a
    missing key or a wrong type (``factor: "big"``) is a one-line InputError naming the file."""
    path = scene_info_path(run_dir)
    values = fileio.read_json(path, missing=f"missing (is {run_dir} a JNeuSample run directory?)")
    return SceneInfo.from_dict(values, source=path)


def scene_folder(run_dir: Path, info: SceneInfo, data: str | Path | None = None,
                 data_option: bool = True) -> Path:
    """The scene folder to load for a run: ``data`` (``--data``) when given, else the one its ``scene.json``
    names, which must still exist (a one-line error naming ``scene.json`` when it was moved or deleted;
    ``data_option``: the command has ``--data``, so the message suggests it)."""
    if data:
        return Path(data)
    folder = Path(info.data)
    if not folder.is_dir():
        hint = "; pass --data DIR to read the scene from where it is now" if data_option else ""
        raise InputError(f"{scene_info_path(run_dir)}: the run's scene folder {folder} no longer exists "
                         f"(moved or deleted?){hint}")
    return folder


def append_metrics(run_dir: Path, record: dict[str, Any]) -> None:
    """Append one strict-JSON line to ``metrics.jsonl`` (a NaN loss is logged as null)."""
    fileio.append_line(Path(run_dir) / "metrics.jsonl", fileio.dumps(record))


def _step_of(line: str) -> int | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record.get("step", 0) if isinstance(record, dict) and isinstance(record.get("step", 0), int) else None


def truncate_metrics(run_dir: Path, after_step: int) -> None:
    """Drop log lines of steps after ``after_step`` (work lost by a crash is logged again on resume), and any
    line that is not a JSON record (cut short by a full disk or a crash)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    kept = [line for line in lines if line.strip() and (_step_of(line) or 0) <= after_step
            and _step_of(line) is not None]
    if kept != lines:
        fileio.atomic_write_text(path, "".join(line + "\n" for line in kept))


def prepare_run_dir(run_dir: Path, config: Config, resume: bool,
                    note=None, stop_at: int | None = None) -> tuple[Config, Path | None]:
    """Check ``run_dir`` against the request; returns the config to use and the checkpoint to resume from.

    Without ``resume`` an existing run is never overwritten: a different config, or any checkpoint, is an
    error. With ``resume`` the saved config wins, and only :data:`~jneusample.config.RESUMABLE_KEYS` may
    differ (the preset included: a different preset is a different config). Extending a run is
    ``--steps N --resume`` with N larger than the checkpoint's step; the learning-rate schedule is then
    recomputed over the new total N (bit-exact continuation only when N is unchanged). A run that has a
    config but no checkpoint yet (killed before its first one) resumes from step 0. The newest checkpoint
    that loads is used; newer unreadable ones are skipped with a note. ``stop_at`` (``--stop-at``) at or below
    that checkpoint's step is refused: the invocation would train nothing. Nothing is written here.
    """
    run_dir = Path(run_dir)
    saved_exists = config_path(run_dir).exists()
    if not resume:
        if saved_exists:
            saved = read_config(run_dir)
            changed = differences(saved, config)
            if changed:
                raise InputError(
                    f"{config_path(run_dir)}: --out holds a run made with a different config "
                    f"({', '.join(changed[:5])}); use another --out, or --resume to continue that run"
                )
        found = list_checkpoints(run_dir)
        if found:
            raise InputError(f"{run_dir}: already holds a trained run ({found[-1][1].name}); "
                             "pass --resume to continue it or choose another --out")
        return config, None
    if not saved_exists:
        if list_checkpoints(run_dir):
            raise InputError(f"{config_path(run_dir)}: missing, so the run cannot be resumed")
        raise InputError(f"{run_dir}: --resume given but the run has no checkpoint to resume from "
                         "(and no config.json)")
    saved = read_config(run_dir)
    changed = [key for key in differences(saved, config) if key not in RESUMABLE_KEYS]
    if changed:
        raise InputError(
            f"{config_path(run_dir)}: cannot resume with a different config ({', '.join(changed[:5])}); "
            "only steps, logging and checkpoint intervals may change on resume"
        )
    newest = load_newest_checkpoint(run_dir, note=note)
    step = int(newest[1]["step"]) if newest is not None else 0
    if config.train.steps != saved.train.steps and config.train.steps <= step:
        raise InputError(
            f"--steps {config.train.steps}: the run is already at step {step}; to extend it pass --steps larger "
            f"than {step} (nothing was changed)"
        )
    if stop_at is not None and stop_at <= step:
        raise InputError(f"--stop-at {stop_at}: the run in {run_dir} is already at step {step}; pass a step "
                         f"after {step} (nothing was changed)")
    for key in RESUMABLE_KEYS:  # take the new values of the harmless keys
        section, name = key.split(".")
        setattr(getattr(saved, section), name, getattr(getattr(config, section), name))
    return saved, (newest[0] if newest is not None else None)


CHECKPOINT_CHOICES = "best | latest | a step number | a checkpoint file"
"""What ``--checkpoint`` accepts (eval, render, plot-samples)."""


@dataclass
class LoadedRun:
    run_dir: Path
    config: Config
    model: Any
    checkpoint: dict[str, Any]
    checkpoint_path: Path
    choice: str = "latest"
    """How the checkpoint was chosen: 'latest', 'best', 'step' or 'file'."""

    @property
    def step(self) -> int:
        return int(self.checkpoint["step"])

    @property
    def val_psnr(self) -> float | None:
        """The validation PSNR training recorded for this checkpoint (None when it did not validate there)."""
        value = self.checkpoint.get("val_psnr")
        return float(value) if value is not None else None


def checkpoint_choice(choice: str | Path | None) -> str:
    """'latest', 'best', 'step' or 'file' for a ``--checkpoint`` value; a one-line error for anything else.

    A :class:`~pathlib.Path`, or a string naming an existing file, ending in ``.ckpt`` or holding a folder
    separator, is a checkpoint file; a string of digits is a step of the run.
    """
    if choice is None or isinstance(choice, Path):
        return "latest" if choice is None else "file"
    text = str(choice).strip()
    if text.lower() in ("latest", "best"):
        return text.lower()
    if text.isdigit():
        return "step"
    if text.endswith(".ckpt") or "/" in text or Path(text).is_file():
        return "file"
    raise InputError(f"--checkpoint {choice!r}: expected {CHECKPOINT_CHOICES}")


def resolve_checkpoint(run_dir: Path, choice: str | Path | None) -> tuple[str, Path | None]:
    """(kind, path) of the checkpoint ``choice`` names in ``run_dir``; path None for 'latest' (the newest that
    loads is found by :func:`load_run`). One-line errors for a best without recorded PSNRs or a missing step."""
    run_dir = Path(run_dir)
    kind = checkpoint_choice(choice)
    if kind == "latest":
        return kind, None
    if kind == "file":
        return kind, Path(choice)
    if kind == "best":
        best = best_checkpoint(run_dir)
        if best is None:
            raise InputError(f"{run_dir}: --checkpoint best needs a validation PSNR, and none of the run's "
                             "checkpoints has one (train with train.validate_every > 0, or use latest or a step)")
        return kind, best[2]
    step = int(str(choice).strip())
    path = checkpoint_path(run_dir, step)
    if not path.is_file():
        steps = [str(s) for s, _ in list_checkpoints(run_dir)]
        raise InputError(f"{run_dir}: no checkpoint at step {step} (the run has: {', '.join(steps) or 'none'})")
    return kind, path


def load_run(run_dir: str | Path, checkpoint: str | Path | None = None, samples: int | None = None) -> LoadedRun:
    """Config + model with the checkpoint ``checkpoint`` names; clear errors otherwise.

    ``samples``: render with this many points per ray (:meth:`~jneusample.models.model.Model.set_points_per_ray`:
    NeuSample with the quantile head); a model that cannot is a one-line InputError naming the run.

    ``checkpoint``: None or 'latest' (the newest loadable checkpoint), 'best' (the highest validation PSNR
    recorded in ``checkpoints/val.json``), a step number ('4000' or 4000 as a string), or a file (a Path, or a
    string ending in .ckpt / holding a '/'). Safe on a run being trained: only complete checkpoints carry a
    final name, and for 'latest' one pruned while we look is skipped for the newer one that replaced it.
    """
    # deferred: the models (and Jittor) load only when a run's model is built
    from ..models.registry import build_model

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: run directory does not exist")
    config = read_config(run_dir)
    model = build_model(config.model)
    if samples is not None:  # before the checkpoint is read: a wrong --samples is a quick one-line error
        try:
            model.set_points_per_ray(samples)
        except InputError as error:
            raise InputError(f"{run_dir}: --samples {samples}: {error}") from None
    kind, path = resolve_checkpoint(run_dir, checkpoint)
    if path is not None:
        state = load_checkpoint(path)
    else:
        newest = load_newest_checkpoint(run_dir)
        if newest is None:
            raise InputError(f"{run_dir}: run has no checkpoint yet (train it first, or pass --resume to a "
                             "training run)")
        path, state = newest
    load_model_state(model, state["model"], path)
    return LoadedRun(run_dir=run_dir, config=config, model=model, checkpoint=state, checkpoint_path=path,
                     choice=kind)
