"""Training: smoke run, bit-exact resume, refusing to overwrite, kill -9 + resume."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO, failure_output, run_command, write_blender_scene
from jneusample.platform.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint
from jneusample.cli import main
from jneusample.config import apply_overrides, preset
from jneusample.data import load_scene
from jneusample.errors import InputError
from jneusample.training.trainer import TrainingClock, train


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = write_blender_scene(tmp_path_factory.mktemp("scene") / "s", size=12)
    return load_scene(root, quiet=True)


def tiny(**overrides):
    config = preset("tiny")
    return apply_overrides(config, [f"{k}={v}" for k, v in overrides.items()])


def test_two_step_smoke_training_writes_a_run(tmp_path, scene):
    run = tmp_path / "run"
    result = train(tiny(**{"train.steps": 2, "train.log_every": 1}), scene, run, progress=False)
    assert result.step == 2 and np.isfinite(result.train_psnr)
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 2
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines if "loss" in l] == [1, 2]
    state = load_checkpoint(latest_checkpoint(run))
    assert state["step"] == 2 and "optimizer" in state and "sampler_per_rank" in state and "config" in state


def test_resuming_a_complete_run_validates_nothing_again(tmp_path, scene):
    """A finished run resumed (a time budget already spent, or its last step reached) makes no step: it must not
    append a second validation line at the same step (with this invocation's elapsed_s, about 0)."""
    run, settings = tmp_path / "run", {"train.steps": 3, "train.log_every": 1, "train.validate_every": 2}
    first = train(tiny(**settings), scene, run, progress=False)
    before = (run / "metrics.jsonl").read_text()
    again = train(tiny(**settings), scene, run, resume=True, progress=False)
    assert again.step == 3 and again.val_psnr == first.val_psnr and first.val_psnr is not None
    assert (run / "metrics.jsonl").read_text() == before
    vals = [json.loads(l)["step"] for l in before.splitlines() if "val_psnr" in l]
    assert vals == [2, 3]


def _weights(run):
    return load_checkpoint(latest_checkpoint(run))["model"]


def test_resume_is_bit_exact(tmp_path, scene):
    """2000 steps in one go == 1000 steps, then resume for 1000 more (identical weights on the CPU)."""
    settings = {"train.steps": 2000, "train.checkpoint_every": 1000, "train.log_every": 1000,
                "train.rays_per_step": 16, "train.precrop_steps": 1000}
    train(tiny(**settings), scene, tmp_path / "once", progress=False)
    train(tiny(**settings), scene, tmp_path / "twice", progress=False, stop_at=1000)
    assert latest_checkpoint(tmp_path / "twice").name == "step_00001000.ckpt"
    train(tiny(**settings), scene, tmp_path / "twice", resume=True, progress=False)
    a, b = _weights(tmp_path / "once"), _weights(tmp_path / "twice")
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name]), name


def test_sample_field_learning_rate_scale_trains_and_resumes_bit_exact(tmp_path, scene):
    """train.sample_field_lr_scale: two optimizer groups (their Adam state in the checkpoint), the sample field's
    weights move less than with one rate, and a resume is still bit-exact."""
    settings = {"train.steps": 40, "train.checkpoint_every": 20, "train.log_every": 20, "train.rays_per_step": 16,
                "train.sample_field_lr_scale": 0.1}
    train(tiny(**settings), scene, tmp_path / "once", progress=False)
    train(tiny(**settings), scene, tmp_path / "twice", progress=False, stop_at=20)
    train(tiny(**settings), scene, tmp_path / "twice", resume=True, progress=False)
    a, b = _weights(tmp_path / "once"), _weights(tmp_path / "twice")
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    assert len(load_checkpoint(latest_checkpoint(tmp_path / "once"))["optimizer"]["groups"]) == 2
    train(tiny(**{**settings, "train.sample_field_lr_scale": 1.0}), scene, tmp_path / "one_rate", progress=False)
    start = _weights(tmp_path / "once")  # same seed: the same initial weights in both runs
    one_rate = _weights(tmp_path / "one_rate")
    from jneusample.platform.backend import jt
    from jneusample.platform.checkpoint import model_state
    from jneusample.models.registry import build_model

    jt.set_global_seed(tiny().train.seed, different_seed_for_mpi=False)  # the trainer's initialisation
    first = model_state(build_model(tiny().model))
    field = [name for name in first if name.startswith("sampler.sample_field.")]
    moved = lambda weights: sum(float(np.abs(weights[n] - first[n]).sum()) for n in field)  # noqa: E731
    assert field and 0 < moved(start) < moved(one_rate)


def test_out_with_a_different_config_is_refused_and_untouched(tmp_path, scene):
    run = tmp_path / "run"
    train(tiny(**{"train.steps": 2}), scene, run, progress=False)
    before = sorted(p.name for p in (run / "checkpoints").iterdir()), (run / "config.json").read_text()
    with pytest.raises(InputError, match="different config"):
        train(tiny(**{"train.steps": 2, "model.n_samples": 4}), scene, run, progress=False)
    with pytest.raises(InputError, match="already holds a trained run"):
        train(tiny(**{"train.steps": 2}), scene, run, progress=False)
    after = sorted(p.name for p in (run / "checkpoints").iterdir()), (run / "config.json").read_text()
    assert before == after


def test_resume_without_checkpoint_is_refused(tmp_path, scene):
    with pytest.raises(InputError, match="no checkpoint"):
        train(tiny(), scene, tmp_path / "empty", resume=True, progress=False)


def test_checkpoint_of_another_model_shape_is_refused(tmp_path, scene):
    from jneusample.platform.checkpoint import load_model_state
    from jneusample.models.registry import build_model

    run = tmp_path / "run"
    train(tiny(**{"train.steps": 1}), scene, run, progress=False)
    other = build_model(tiny(**{"model.radiance_width": 16}).model)
    with pytest.raises(InputError, match="another model shape"):
        load_model_state(other, load_checkpoint(latest_checkpoint(run))["model"], latest_checkpoint(run))


def test_cli_errors_are_one_line(tmp_path, capsys):
    code = main(["train", "--data", str(tmp_path / "nope"), "--preset", "tiny", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err and "nope" in err
    code = main(["train", "--preset", "tiny", "--resume", "--out", str(tmp_path / "r2")])
    assert code == 2 and "no checkpoint" in capsys.readouterr().err
    code = main(["train", "--preset", "tiny", "--set", "train.steps=abc", "--out", str(tmp_path / "r3")])
    assert code == 2 and "train.steps" in capsys.readouterr().err


def test_kill_minus_9_then_resume_loses_at_most_one_interval(tmp_path):
    root = write_blender_scene(tmp_path / "scene", size=12)
    run = tmp_path / "run"
    base = [sys.executable, "-m", "jneusample", "train", "--data", str(root), "--preset", "tiny",
            "--out", str(run), "--no-progress", "--set", "train.checkpoint_every=5", "--set", "train.log_every=5"]
    process = subprocess.Popen(base + ["--steps", "100000"], cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and len(list_checkpoints(run)) < 2:
            time.sleep(0.2)
        assert list_checkpoints(run), "no checkpoint appeared"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    last_step, last = list_checkpoints(run)[-1]
    assert load_checkpoint(last)["step"] == last_step  # the newest file is complete, never torn
    lost = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["step"] - last_step
    assert lost <= 5
    done = run_command(base + ["--steps", str(last_step + 7), "--resume"])
    assert done.returncode == 0, failure_output(done)
    assert list_checkpoints(run)[-1][0] == last_step + 7
    steps = [json.loads(l)["step"] for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and len(steps) == len(set(steps))  # no duplicated log lines after resume


def test_validation_records_samples_at_ends_and_warns_of_a_collapse(tmp_path, scene, monkeypatch, capsys):
    import jneusample.samplers.collapse as collapse_module

    settings = {"train.steps": 4, "train.validate_every": 2, "train.val_views": 1, "train.log_every": 2}
    train(tiny(**settings), scene, tmp_path / "healthy", progress=False)
    rows = [json.loads(l) for l in (tmp_path / "healthy" / "metrics.jsonl").read_text().splitlines()]
    shares = [r["val_samples_at_ends"] for r in rows if "val_psnr" in r]
    assert len(shares) == 2 and all(0.0 <= s < collapse_module.SAMPLES_AT_ENDS_WARNING for s in shares)
    assert "collapsed" not in capsys.readouterr().err
    monkeypatch.setattr(collapse_module, "SAMPLES_AT_ENDS_WARNING", -1.0)  # any share now counts as a collapse
    train(tiny(**settings), scene, tmp_path / "warned", progress=False)
    err = capsys.readouterr().err
    assert err.count("the sample field has collapsed") == 2 and "step 2:" in err and "step 4:" in err


def test_a_collapsed_sample_field_is_reset_and_training_goes_on(tmp_path, scene, monkeypatch, capsys):
    """train.reset_collapsed_sample_field: a collapse (forced: any share counts) resets the head at each check
    (every log_every steps), logs it, and a resume makes the same decisions (bit-exact)."""
    import jneusample.samplers.collapse as collapse_module

    monkeypatch.setattr(collapse_module, "SAMPLES_AT_ENDS_WARNING", -1.0)
    settings = {"train.steps": 6, "train.log_every": 3, "train.checkpoint_every": 3, "train.validate_every": 0,
                "train.reset_collapsed_sample_field": True}
    train(tiny(**settings), scene, tmp_path / "once", progress=False)
    rows = [json.loads(l) for l in (tmp_path / "once" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "sample_field_reset" in r] == [3, 6]
    assert "its head is back at the uniform placement" in capsys.readouterr().err
    head = _weights(tmp_path / "once")
    weight = next(v for k, v in head.items() if k.startswith("sampler.sample_field.head") and k.endswith("weight"))
    assert not weight.any()  # reset at the last step
    train(tiny(**settings), scene, tmp_path / "twice", progress=False, stop_at=3)
    train(tiny(**settings), scene, tmp_path / "twice", resume=True, progress=False)
    a, b = _weights(tmp_path / "once"), _weights(tmp_path / "twice")
    for name in a:
        assert np.array_equal(a[name], b[name]), name


def test_no_reset_without_a_collapse_or_without_a_learnt_sampler(tmp_path, scene, monkeypatch):
    import jneusample.samplers.collapse as collapse_module

    settings = {"train.steps": 4, "train.log_every": 2, "train.validate_every": 0,
                "train.reset_collapsed_sample_field": True}
    train(tiny(**settings), scene, tmp_path / "healthy", progress=False)  # the real threshold: a fresh field is fine
    monkeypatch.setattr(collapse_module, "SAMPLES_AT_ENDS_WARNING", -1.0)
    train(tiny(**{**settings, "model.kind": "nerf"}), scene, tmp_path / "nerf", progress=False)
    for run in ("healthy", "nerf"):
        assert "sample_field_reset" not in (tmp_path / run / "metrics.jsonl").read_text(), run


@pytest.mark.parametrize("leave_out_compiles, expected", [(True, 4.0), (False, 54.0)])
def test_training_clock_leaves_out_the_first_step_at_each_n(leave_out_compiles, expected):
    now = [100.0]
    clock = TrainingClock(leave_out_compiles, now=lambda: now[0])

    def step(points_per_ray, seconds):
        began = now[0]
        now[0] += seconds
        clock.step_done(points_per_ray, began)

    for points_per_ray, seconds in ((8, 30.0), (8, 1.0), (16, 20.0), (16, 2.0), (8, 1.0)):
        step(points_per_ray, seconds)  # the first at 8 (30 s) and at 16 (20 s) compile
    assert clock.seconds() == expected


def test_train_returns_through_a_barrier_once_its_last_checkpoint_is_on_disk(tmp_path, scene, monkeypatch):
    """Under MPI rank 0 alone writes the checkpoint; what follows train() in the same process (the demo's
    evaluation) reads it on every rank, so every rank leaves train() through a barrier after the file exists."""
    from jneusample.platform import distributed

    run = tmp_path / "run"
    seen = []
    monkeypatch.setattr(distributed, "barrier", lambda: seen.append([s for s, _ in list_checkpoints(run)]))
    result = train(tiny(**{"train.steps": 3, "train.checkpoint_every": 100}), scene, run, progress=False)
    assert result.step == 3 and seen and seen[-1] == [3]  # the last barrier: step 3's checkpoint written
