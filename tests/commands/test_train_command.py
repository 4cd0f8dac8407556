import json

from jneusample.cli import main


def test_print_config_prints_the_resolved_config_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the default run directory would be runs/demo_scene-tiny under it
    assert main(["train", "--print-config", "--preset", "tiny", "--set", "train.steps=7"]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["preset"] == "tiny" and config["train"]["steps"] == 7
    assert list(tmp_path.iterdir()) == []  # no run directory, nothing else either


def test_a_huge_rays_per_step_is_one_line_before_anything_is_allocated(tmp_path, capsys):
    """10^9 rays per step would allocate tens of GiB for the first batch alone (then be killed): refused with the
    limit named, before the scene is read (no 'data:' line) and before the run directory is made."""
    from conftest import error_line
    from jneusample.config import MAX_RAYS_PER_STEP

    assert MAX_RAYS_PER_STEP == 1_048_576
    out = tmp_path / "run"
    code = main(["train", "--preset", "tiny", "--set", "train.rays_per_step=1000000000", "--out", str(out),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "data: " not in err and not out.exists()
    assert error_line(err) == ("error: invalid config: train.rays_per_step must be in [1, 1,048,576], got "
                               "1,000,000,000 (a step's activations grow with it: 2^20 rays of the paper's model "
                               "need over 1 TiB)")
    assert main(["train", "--print-config", "--preset", "tiny", "--set", "train.rays_per_step=1048576"]) == 0
    assert json.loads(capsys.readouterr().out)["train"]["rays_per_step"] == MAX_RAYS_PER_STEP  # the cap is allowed


def _train_command(scene, out, *extra: str) -> list[str]:
    from conftest import JNEUSAMPLE

    return JNEUSAMPLE + ["train", "--data", str(scene), "--preset", "tiny", "--out", str(out), "--no-progress",
                         *extra]


def test_sigterm_to_a_single_process_train_exits_143_with_a_checkpoint_at_its_step(tmp_path):
    import signal

    from conftest import stop_once_written, write_blender_scene
    from jneusample.platform.checkpoint import list_checkpoints, load_checkpoint

    scene = write_blender_scene(tmp_path / "scene", size=12)
    run = tmp_path / "run"
    command = _train_command(scene, run, "--steps", "100000", "--set", "train.checkpoint_every=100000",
                             "--set", "train.log_every=1")
    status, out, err = stop_once_written(command, run / "metrics.jsonl", signal.SIGTERM)  # training made a step
    assert status == 143, err
    assert "Traceback" not in err
    step = json.loads(out.strip().splitlines()[-1])["step"]
    assert step > 0 and [s for s, _ in list_checkpoints(run)] == [step]  # only the one the signal wrote
    assert load_checkpoint(list_checkpoints(run)[0][1])["step"] == step
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["step"] == step
    assert f"stopped by SIGTERM at step {step} (checkpoint {run / 'checkpoints' / f'step_{step:08d}.ckpt'})" in err


def test_bf16_matmuls_reach_the_model_or_fall_back_with_a_warning(tmp_path):
    """train.bf16_matmuls=true trains with bfloat16 matmul operands where the CPU can (other weights than a
    float32 run), else says so once and trains in float32 (the very same weights)."""
    from conftest import failure_output, run_command, write_blender_scene
    from jneusample.platform.checkpoint import latest_checkpoint, load_checkpoint
    from jneusample.fields import fused

    scene = write_blender_scene(tmp_path / "scene", size=8)
    weights, errors = {}, {}
    for bf16 in ("false", "true"):
        run = tmp_path / f"bf16-{bf16}"
        result = run_command(_train_command(scene, run, "--steps", "3", "--set", f"train.bf16_matmuls={bf16}"))
        assert result.returncode == 0, failure_output(result)
        weights[bf16] = load_checkpoint(latest_checkpoint(run))["model"]
        errors[bf16] = result.stderr
    assert json.loads((tmp_path / "bf16-true" / "config.json").read_text())["train"]["bf16_matmuls"] is True
    warning = "bfloat16 training matmuls unavailable, training in float32"
    assert warning not in errors["false"]
    same = all((weights["true"][name] == value).all() for name, value in weights["false"].items())
    if fused._enabled_here() and fused.bf16_available():  # avx512_bf16 (or oneDNN's emulation of it)
        assert not same and warning not in errors["true"]
    else:  # this CPU (e.g. avx2 only): float32, bit for bit, and the user is told
        assert same
        assert warning in errors["true"] or not fused._enabled_here(), errors["true"]


def test_resume_without_data_trains_on_the_runs_own_scene(tmp_path):
    """`train --out RUN --resume` without --data reads the scene its scene.json names (it used to take the demo
    scene and rewrite scene.json with it)."""
    from conftest import JNEUSAMPLE, failure_output, run_command, write_blender_scene

    scene = write_blender_scene(tmp_path / "scene", size=8)
    run = tmp_path / "run"
    first = run_command(_train_command(scene, run, "--steps", "2"))
    assert first.returncode == 0, failure_output(first)
    resumed = run_command(JNEUSAMPLE + ["train", "--out", str(run), "--resume", "--steps", "3", "--no-progress"])
    assert resumed.returncode == 0, failure_output(resumed)
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["step"] == 3
    info = json.loads((run / "scene.json").read_text())
    assert info["data"] == str(scene.resolve()) and info["height"] == 8
