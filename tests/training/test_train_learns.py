"""Training learns: a few hundred steps on the demo scene lower the loss clearly and raise validation PSNR.

For NeuSample and for the NeRF baseline, with the ``tiny`` preset's widths at 32x32 pixels (under a minute each on
2 CPU cores). The runs reach about 0.4x the early loss and +3.7 dB; the thresholds (0.6x, +2 dB) leave room for
other seeds and machines, and nothing depends on timing.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from jneusample.config import apply_overrides, preset
from jneusample.data import DEMO_SCENE, load_scene
from jneusample.training.trainer import train

STEPS = 300


@pytest.fixture(scope="module")
def scene():
    return load_scene(DEMO_SCENE, factor=2, quiet=True)


@pytest.mark.parametrize("kind", ["neusample", "nerf"])
def test_a_few_hundred_steps_learn_the_demo_scene(tmp_path, scene, kind):
    config = apply_overrides(preset("tiny"), [
        f"model.kind={kind}", f"train.steps={STEPS}", "train.rays_per_step=256", "train.log_every=10",
        "train.validate_every=30", "train.val_views=2", f"train.checkpoint_every={STEPS}", "data.factor=2",
    ])
    run = tmp_path / kind
    train(config, scene, run, progress=False)
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [line["loss"] for line in lines if "loss" in line]
    vals = [(line["step"], line["val_psnr"]) for line in lines if "val_psnr" in line]
    assert len(losses) >= 6 and len(vals) >= 2 and vals[-1][0] == STEPS, (losses, vals)
    early, late = float(np.mean(losses[:3])), float(np.mean(losses[-3:]))
    assert late < 0.6 * early, f"{kind}: loss {early:.4f} (first 3 logs) -> {late:.4f} (last 3 logs)"
    (first_step, first), last = vals[0], vals[-1][1]
    assert last > first + 2.0, f"{kind}: validation PSNR {first:.2f} dB at step {first_step} -> {last:.2f} dB"
