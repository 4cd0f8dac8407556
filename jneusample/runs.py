"""A run directory: its config, checkpoints, metrics log, and loading a trained model back from it.

Layout::

    RUN_DIR/config.json          the resolved Config (reproduces the run)
    RUN_DIR/scene.json           where the data came from (path, format, factor)
    RUN_DIR/checkpoints/step_XXXXXXXX.ckpt
    RUN_DIR/metrics.jsonl        one JSON object per log line (train loss/PSNR, validation PSNR)
    RUN_DIR/eval_<split>/        written by ``jneusample eval``
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checkpoint import atomic_write_text, latest_checkpoint, load_checkpoint, load_model_state
from .config import Config
from .errors import InputError


def config_path(run_dir: Path) -> Path:
    return Path(run_dir) / "config.json"


def read_config(run_dir: Path) -> Config:
    path = config_path(run_dir)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: missing (is {run_dir} a JNeuSample run directory?)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    return Config.from_dict(values, source=str(path))


def write_config(run_dir: Path, config: Config) -> None:
    atomic_write_text(config_path(run_dir), config.to_json() + "\n")


def write_scene_info(run_dir: Path, info: dict[str, Any]) -> None:
    atomic_write_text(Path(run_dir) / "scene.json", json.dumps(info, indent=2) + "\n")


def read_scene_info(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "scene.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: missing (is {run_dir} a JNeuSample run directory?)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None


def append_metrics(run_dir: Path, record: dict[str, Any]) -> None:
    with open(Path(run_dir) / "metrics.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def truncate_metrics(run_dir: Path, after_step: int) -> None:
    """Drop log lines of steps after ``after_step`` (work lost by a crash is logged again on resume)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return
    kept = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= after_step]
    atomic_write_text(path, "".join(line + "\n" for line in kept))


@dataclass
class LoadedRun:
    run_dir: Path
    config: Config
    model: Any
    checkpoint: dict[str, Any]
    checkpoint_path: Path

    @property
    def step(self) -> int:
        return int(self.checkpoint["step"])


def load_run(run_dir: str | Path, checkpoint: str | Path | None = None) -> LoadedRun:
    """Config + model with the run's latest (or the given) checkpoint loaded; clear errors otherwise."""
    from .models import build_model

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: run directory does not exist")
    config = read_config(run_dir)
    path = Path(checkpoint) if checkpoint else latest_checkpoint(run_dir)
    if path is None:
        raise InputError(f"{run_dir}: run has no checkpoint yet (train it first, or pass --resume to a training run)")
    state = load_checkpoint(path)
    model = build_model(config.model)
    load_model_state(model, state["model"], path)
    return LoadedRun(run_dir=run_dir, config=config, model=model, checkpoint=state, checkpoint_path=path)
