"""Resume semantics, corrupt newest checkpoints, runs killed before their first checkpoint, disk full."""
import json
import shutil

import pytest

from conftest import error_line
from diskfull import disk_full  # noqa: F401  (fixture)
from jneusample.platform.checkpoint import list_checkpoints
from jneusample.cli import main
from jneusample.config import apply_overrides, preset
from jneusample.data import load_scene
from jneusample.errors import InputError
from jneusample.platform.runs import load_run
from jneusample.training.trainer import train


@pytest.fixture
def run40(run_dir, tmp_path):
    """A copy of the session's 4-step tiny run (demo scene)."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def _cli(*args):
    return main(["train", "--preset", "tiny", "--no-progress", *args])


def test_resume_with_fewer_steps_is_refused_and_config_untouched(run40, capsys):
    before = (run40 / "config.json").read_text()
    assert _cli("--out", str(run40), "--resume", "--steps", "2") == 2
    assert "already at step 4" in error_line(capsys.readouterr().err)
    assert (run40 / "config.json").read_text() == before


def test_resume_with_another_preset_and_lr_is_refused(run40, capsys):
    code = main(["train", "--preset", "cpu", "--out", str(run40), "--resume", "--set", "train.lr=0.01",
                 "--no-progress"])
    err = error_line(capsys.readouterr().err)
    assert code == 2 and "cannot resume with a different config" in err and "train.lr" in err


def test_resume_without_options_keeps_the_runs_steps(run40, capsys):
    assert main(["train", "--out", str(run40), "--resume", "--no-progress"]) == 0  # preset and steps: the run's
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 4


@pytest.mark.parametrize("stop_at", [2, 4])
def test_stop_at_a_step_the_run_has_reached_is_one_line_and_changes_nothing(run40, capsys, stop_at):
    """--resume --stop-at S with S at or below the run's step (4) would train nothing and exit 0 as if it had."""
    before = {path: path.read_bytes() for path in sorted(run40.rglob("*")) if path.is_file()}
    assert _cli("--out", str(run40), "--resume", "--stop-at", str(stop_at)) == 2
    assert error_line(capsys.readouterr().err) == (f"error: --stop-at {stop_at}: the run in {run40} is already at "
                                                   "step 4; pass a step after 4 (nothing was changed)")
    after = {path: path.read_bytes() for path in sorted(run40.rglob("*")) if path.is_file() and path.name != ".lock"}
    assert after == {path: data for path, data in before.items() if path.name != ".lock"}
    assert _cli("--out", str(run40), "--resume", "--stop-at", "5", "--steps", "8") == 0  # a later step still works
    assert list_checkpoints(run40)[-1][0] == 5


@pytest.mark.parametrize("option", [["--max-minutes", "-1"], ["--max-minutes", "0"], ["--stop-at", "0"]])
def test_bad_stop_options_are_refused(tmp_path, capsys, option):
    assert _cli("--out", str(tmp_path / "r"), *option) == 2
    assert option[0] in error_line(capsys.readouterr().err)


def test_corrupt_newest_checkpoint_is_skipped_by_resume_and_eval(run40, capsys):
    step, newest = list_checkpoints(run40)[-1]
    shutil.copy(newest, run40 / "checkpoints" / f"step_{step + 1:08d}.ckpt")  # keep a good one below
    (run40 / "checkpoints" / f"step_{step + 2:08d}.ckpt").write_bytes(b"truncated")
    run = load_run(run40)
    assert run.checkpoint_path.name == f"step_{step + 1:08d}.ckpt"
    assert f"skipping {run40 / 'checkpoints' / f'step_{step + 2:08d}.ckpt'}" in capsys.readouterr().err
    assert _cli("--out", str(run40), "--resume", "--steps", str(step + 3)) == 0
    assert list_checkpoints(run40)[-1][0] == step + 3


def test_run_killed_before_its_first_checkpoint_resumes_from_step_0(run40, capsys):
    shutil.rmtree(run40 / "checkpoints")
    assert _cli("--out", str(run40), "--resume") == 0
    assert [s for s, _ in list_checkpoints(run40)] == [4]


def test_disk_full_while_checkpointing_keeps_the_last_valid_one(tmp_path, disk_full):  # noqa: F811
    from jneusample.data import DEMO_SCENE

    scene = load_scene(DEMO_SCENE, quiet=True)
    run = tmp_path / "run"
    config = apply_overrides(preset("tiny"), ["train.steps=3", "train.checkpoint_every=1"])
    train(config, scene, run, progress=False, stop_at=1)
    disk_full(".step_")
    with pytest.raises(InputError, match=r"^disk full: .*step_00000002\.ckpt \(the last checkpoint, "
                                         r"step_00000001\.ckpt, is kept\)$"):
        train(config, scene, run, resume=True, progress=False)
    assert [s for s, _ in list_checkpoints(run)] == [1]
    assert not list((run / "checkpoints").glob(".*tmp"))


def test_scene_info_round_trips_through_scene_json_and_is_checked_on_write_and_read(tmp_path):
    from jneusample.platform.runs import SceneInfo, read_scene_info, scene_info_path, write_scene_info

    info = SceneInfo(data=str(tmp_path), format="llff", factor=8, height=378, width=504, allow_outside_paths=True)
    write_scene_info(tmp_path, info)
    assert json.loads(scene_info_path(tmp_path).read_text()) == {
        "data": str(tmp_path), "format": "llff", "factor": 8, "height": 378, "width": 504,
        "allow_outside_paths": True}
    assert read_scene_info(tmp_path) == info
    # the optional fields are left out when unset, as before the class; unknown keys are ignored on reading
    write_scene_info(tmp_path, {"data": "scene", "format": "blender", "factor": 2})
    assert json.loads(scene_info_path(tmp_path).read_text()) == {"data": "scene", "format": "blender", "factor": 2}
    scene_info_path(tmp_path).write_text(json.dumps({"data": "scene", "format": "blender", "factor": 2, "new": 1}))
    assert read_scene_info(tmp_path) == SceneInfo("scene", "blender", 2)
    with pytest.raises(InputError, match=r"scene\.json: factor must be a positive integer, got 0$"):
        write_scene_info(tmp_path, {"data": "scene", "format": "blender", "factor": 0})
