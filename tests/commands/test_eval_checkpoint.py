"""`eval --checkpoint best|latest|STEP` on a tiny run that validates at its checkpoints."""
import json

import pytest

from conftest import error_line
from jneusample.platform.checkpoint import list_checkpoints, load_checkpoint, read_val_index
from jneusample.cli import main
from jneusample.config import preset
from jneusample.data import DEMO_SCENE, load_scene
from jneusample.training.trainer import train


@pytest.fixture(scope="module")
def validated_run(tmp_path_factory):
    """20 tiny steps, validating and checkpointing every 5, keeping only the newest checkpoint (and the best)."""
    run = tmp_path_factory.mktemp("valrun") / "run"
    config = preset("tiny")
    config.data.factor = 4
    config.train.steps = 20
    config.train.validate_every = 5
    config.train.checkpoint_every = 5
    config.train.keep_checkpoints = 1
    config.train.lr = 5e-3  # enough movement for the validation PSNRs to differ
    scene = load_scene(DEMO_SCENE, factor=4, quiet=True)
    train(config, scene, run, progress=False, scene_info={"data": str(DEMO_SCENE), "format": "blender", "factor": 4})
    return run


def evaluate(run, choice, capsys, tmp_path):
    out = tmp_path / f"eval_{choice}"
    code = main(["eval", "--run", str(run), "--checkpoint", choice, "--skip", "4", "--lpips", "none",
                 "--no-images", "--no-progress", "--out", str(out)])
    captured = capsys.readouterr()
    return code, (json.loads((out / "results.json").read_text()) if code == 0 else captured.err)


def test_validation_psnr_is_recorded_per_checkpoint_and_the_best_survives_pruning(validated_run):
    index = read_val_index(validated_run)
    assert sorted(index) == [5, 10, 15, 20]  # the final step too: validated before its checkpoint
    logged = [json.loads(line) for line in (validated_run / "metrics.jsonl").read_text().splitlines()]
    assert {r["step"]: r["val_psnr"] for r in logged if "val_psnr" in r} == pytest.approx(index)
    best = max(index, key=lambda step: (index[step], step))
    on_disk = {step: path for step, path in list_checkpoints(validated_run)}
    assert set(on_disk) == {best, 20}  # keep_checkpoints=1 pruned the others, never the best
    for step, path in on_disk.items():
        assert load_checkpoint(path)["val_psnr"] == pytest.approx(index[step])


def test_eval_picks_best_latest_and_step(validated_run, capsys, tmp_path):
    index = read_val_index(validated_run)
    best = max(index, key=lambda step: (index[step], step))
    on_disk = dict(list_checkpoints(validated_run))
    for choice, step, kind in [("best", best, "best"), ("latest", 20, "latest"), (str(best), best, "step")]:
        code, results = evaluate(validated_run, choice, capsys, tmp_path)
        assert code == 0, results
        assert results["step"] == step and results["checkpoint"] == str(on_disk[step])
        assert results["checkpoint_choice"] == kind
        assert results["checkpoint_val_psnr"] == pytest.approx(index[step])


def test_eval_default_is_latest(validated_run, capsys):
    assert main(["eval", "--run", str(validated_run), "--skip", "8", "--lpips", "none", "--no-images",
                 "--no-progress"]) == 0
    results = json.loads((validated_run / "eval_test" / "results.json").read_text())
    assert results["step"] == 20 and results["checkpoint_choice"] == "latest"


@pytest.mark.parametrize("choice, message", [
    ("newest", "expected best | latest | a step number | a checkpoint file"),
    ("-5", "expected best | latest | a step number | a checkpoint file"),
    ("3", "no checkpoint at step 3"),
])
def test_bad_checkpoint_values_are_one_line(validated_run, capsys, tmp_path, choice, message):
    code, err = evaluate(validated_run, choice, capsys, tmp_path)
    assert code == 2 and message in error_line(err)


def test_best_without_validation_is_one_line(run_dir, capsys, tmp_path):
    code, err = evaluate(run_dir, "best", capsys, tmp_path)  # the tiny preset does not validate
    assert code == 2 and "--checkpoint best needs a validation PSNR" in error_line(err)


@pytest.mark.parametrize("command", [["eval"], ["render", "--path", "test"], ["plot-samples"]])
def test_factor_zero_is_one_line_before_anything_is_loaded(command, tmp_path, capsys):
    from conftest import error_line
    from jneusample.cli import main

    assert main([*command, "--run", str(tmp_path / "no_such_run"), "--factor", "0"]) == 2
    assert error_line(capsys.readouterr().err) == "error: --factor must be a positive integer, got 0"
