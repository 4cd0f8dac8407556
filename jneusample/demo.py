"""The first run a user makes: train the ``quick`` preset on the embedded demo scene for a few minutes, evaluate
it on the test views, and draw ground truth above the renders in one picture (``RUN/eval_test/strip.png``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DEMO_MINUTES = 3.5
"""Training budget of the demo, in minutes. Start-up and evaluation add a few seconds (the whole command's wall
time is in benchmarks/results/demo.json), so the demo ends within 4 minutes on 2 CPU cores once Jittor's operators
are compiled (the first run compiles them: a few minutes more). The ``quick`` preset's time-based schedule spreads
its warm-up and decay over whatever number of steps this machine makes."""


@dataclass
class DemoResult:
    run_dir: Path
    step: int
    psnr: float
    ssim: float
    n_images: int
    sec_per_image: float
    width: int
    height: int
    strip: Path


@dataclass
class DemoStopped:
    """Training was stopped by a signal: its checkpoint is written; nothing was evaluated."""

    run_dir: Path
    step: int
    stop_signal: int  # the signal's number (SIGINT 2, SIGTERM 15, SIGHUP 1)
    checkpoint: Path


def demo_config(minutes: float = DEMO_MINUTES):
    """The demo's run: the ``quick`` preset with a ``minutes`` training budget."""
    # deferred: the demo checks its folder and prints its plan before Jittor starts
    from .config import preset

    config = preset("quick")
    config.train.minutes = float(minutes)
    return config


def run_demo(out: Path, minutes: float = DEMO_MINUTES, progress: bool = True) -> DemoResult | DemoStopped:
    """Train (or, if ``out`` holds a demo run, continue) and evaluate; returns the test metrics, or, when a stop
    signal ended training, where it stopped (the user asked to stop: no evaluation follows)."""
    # deferred: the demo checks its folder and prints its plan before Jittor starts
    from .platform import backend, fileio
    from .platform.checkpoint import latest_checkpoint
    from .data import DEMO_SCENE, load_scene
    from .evaluation.evaluate import EvalOptions, evaluate
    from .platform.runs import SceneInfo
    from .training.trainer import train
    from .outputs.visuals import png_bytes

    out = Path(out)
    config = demo_config(minutes)
    scene = load_scene(DEMO_SCENE)
    resume = latest_checkpoint(out) is not None
    info = SceneInfo(data=str(DEMO_SCENE), format=scene.format, factor=1, height=scene.intrinsics.height,
                     width=scene.intrinsics.width)
    result = train(config, scene, out, resume=resume, progress=progress, scene_info=info)
    if result.stop_signal:
        return DemoStopped(run_dir=out, step=result.step, stop_signal=result.stop_signal,
                           checkpoint=result.last_checkpoint)
    results: dict[str, Any] = evaluate(out, EvalOptions(split="test", lpips_nets=()), progress=progress)
    strip = out / "eval_test" / "strip.png"
    if backend.rank() == 0:  # under MPI the evaluation's files are rank 0's
        fileio.atomic_write_bytes(strip, png_bytes(test_strip(scene, out / "eval_test")))
    return DemoResult(run_dir=out, step=result.step, psnr=float(results["psnr"]), ssim=float(results["ssim"]),
                      n_images=int(results["n_images"]), sec_per_image=float(results["sec_per_image"]),
                      width=int(results["width"]), height=int(results["height"]), strip=strip)


def test_strip(scene, eval_dir: Path) -> np.ndarray:
    """Ground truth (top row) above the evaluated renders (bottom row) of every test view."""
    # deferred: the demo checks its folder and prints its plan before Jittor starts
    from PIL import Image

    from .outputs.visuals import comparison_strip, to_uint8

    views = scene.split("test")
    truth, renders = [], []
    for index in range(len(views)):
        name = (views.names[index] if views.names else str(index)).replace("/", "_")
        path = eval_dir / f"{name}_rgb.png"
        if path.exists():
            truth.append(to_uint8(views.images[index]))
            renders.append(np.asarray(Image.open(path).convert("RGB")))
    return comparison_strip([truth, renders])
