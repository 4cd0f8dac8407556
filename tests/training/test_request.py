"""The library's side of ``jneusample train``: options → checked → config and run folder; from Python the same
options resolve to the same run as the command line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from jneusample.cli import main
from jneusample.data import DEMO_SCENE
from jneusample.errors import InputError
from jneusample.training.request import TrainOptions, check_options, plan_run, resolved_config, train_planned


def test_the_python_api_resolves_the_command_lines_config(tmp_path, monkeypatch, capsys):
    """paper under 4 MPI ranks trains 1/4 of its steps (a preset's scene-dependent policy): both paths apply it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert main(["train", "--print-config", "--preset", "paper", "--set", "train.rays_per_step=64",
                 "--max-minutes", "3"]) == 0
    from_cli = json.loads(capsys.readouterr().out)
    options = TrainOptions(preset="paper", overrides=["train.rays_per_step=64"], max_minutes=3)
    from_python = json.loads(resolved_config(options, plan_run(options, device="cpu")).to_json())
    assert from_python == from_cli
    assert from_cli["train"]["steps"] == 100_000 and from_cli["train"]["rays_per_step"] == 64
    assert "--steps 100000" in capsys.readouterr().err  # the note says which default was applied
    assert list(tmp_path.iterdir()) == []  # resolving writes nothing


def test_plan_run_defaults():
    plan = plan_run(TrainOptions(preset="tiny", steps=5), device="cpu")
    assert plan.data == DEMO_SCENE and plan.out == Path("runs") / "demo_scene-tiny" and plan.new_run
    assert plan.config.preset == "tiny" and plan.config.train.steps == 5
    assert plan_run(TrainOptions(), device="cuda").config.preset == "paper"
    assert plan_run(TrainOptions(), device="cpu").config.preset == "cpu"
    assert plan_run(TrainOptions(model="nerf", preset="tiny"), device="cpu").config.model.kind == "nerf"


def test_resume_without_a_saved_run_is_a_new_run(tmp_path):
    plan = plan_run(TrainOptions(preset="tiny", out=tmp_path / "empty", resume=True), device="cpu")
    assert plan.new_run and plan.out == tmp_path / "empty"


@pytest.mark.parametrize("options, message", [
    (TrainOptions(max_minutes=0), "--max-minutes must be a positive number of minutes, got 0"),
    (TrainOptions(max_minutes=float("nan")), "--max-minutes must be a positive number of minutes, got nan"),
    (TrainOptions(stop_at=0), "--stop-at must be a step >= 1, got 0"),
    (TrainOptions(steps=0), "--steps must be >= 1, got 0"),
    (TrainOptions(factor=0), "--factor must be a positive integer, got 0"),
])
def test_options_no_run_can_use_are_one_line(options, message):
    with pytest.raises(InputError, match="^" + message.replace("(", r"\(")):
        check_options(options)
    with pytest.raises(InputError):
        plan_run(options, device="cpu")  # checked before anything is read


def test_given_sees_options_and_overrides():
    assert TrainOptions(steps=3).given("steps", "train.steps")
    assert TrainOptions(overrides=[" train.steps =3"]).given("steps", "train.steps")
    assert not TrainOptions(overrides=["train.lr=1"]).given("steps", "train.steps")


def test_train_planned_trains_and_records_the_scene(tmp_path):
    from jneusample.platform.runs import read_scene_info

    options = TrainOptions(preset="tiny", steps=2, out=tmp_path / "run", progress=False)
    result = train_planned(options, plan_run(options, device="cpu"))
    assert result.step == 2 and result.last_checkpoint.is_file()
    info = read_scene_info(tmp_path / "run")
    assert Path(info.data) == DEMO_SCENE.resolve() and info.factor == 1


def test_a_recipe_is_its_overrides_before_the_users(capsys):
    """``--recipe proposal`` gives the config of its nine overrides; ``--set`` after it still wins."""
    from jneusample.presets import RECIPES

    assert main(["train", "--print-config", "--preset", "cpu", "--recipe", "proposal",
                 "--set", "model.sample_field_depth=6"]) == 0
    with_recipe = json.loads(capsys.readouterr().out)
    overrides = [*RECIPES["proposal"], "model.sample_field_depth=6"]
    assert main(["train", "--print-config", "--preset", "cpu", *[x for o in overrides for x in ("--set", o)]]) == 0
    assert json.loads(capsys.readouterr().out) == with_recipe
    assert with_recipe["model"]["sample_field_head"] == "quantile" and with_recipe["model"]["sample_field_depth"] == 6
    with pytest.raises(InputError, match="^unknown recipe 'bogus' \\(choose from: proposal\\)$"):
        plan_run(TrainOptions(recipe="bogus"), device="cpu")
