"""Scene-dependent preset defaults: `paper` on an LLFF scene trains at factor 4 for 100 epochs of its rays, and
under W MPI ranks for 1/W of its steps on any scene; the default preset follows the device."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from jneusample.config import apply_overrides, preset
from jneusample.errors import InputError
from jneusample.data import DEMO_SCENE
from jneusample.presets import (LLFF_PAPER_EPOCHS, default_preset, llff_without_full_size, resolve_for_scene,
                                scene_defaults, steps_for_epochs, steps_for_ranks, train_ray_count)
from jneusample.training.request import TrainOptions, load_training_scene

_spec = importlib.util.spec_from_file_location("llff_fixtures", Path(__file__).parent / "data" / "test_llff.py")
llff_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(llff_fixtures)


def test_paper_on_llff_is_the_official_llff_config():
    fern_pool = 17 * 1008 * 756  # fern: 20 views, every 8th held out, at factor 4
    assert scene_defaults(preset("paper"), "llff") == {"factor": 4}
    assert scene_defaults(preset("paper"), "llff", fern_pool) == {"factor": 4, "steps": 316_300}
    assert scene_defaults(preset("paper"), "llff", fern_pool, world_size=2)["steps"] == 100 * 1582  # ceil per epoch


@pytest.mark.parametrize("name, fmt", [("cpu", "llff"), ("tiny", "llff"), ("paper", "blender"),
                                       ("paper", "transforms")])
def test_other_presets_and_formats_keep_their_values(name, fmt):
    assert scene_defaults(preset(name), fmt, 10_000) == {}


def test_only_the_paper_preset_starts_the_sample_field_as_the_official_code():
    assert preset("paper").model.sample_field_init == "default"  # PyTorch's Linear default, U(±1/√fan_in)
    assert all(preset(name).model.sample_field_init == "uniform" for name in ("cpu", "quick", "tiny"))


@pytest.mark.parametrize("fmt", ["blender", "transforms"])
def test_paper_under_mpi_keeps_the_total_rays_of_one_process(fmt):
    # The official code on W GPUs: 200 epochs of ceil(2000 / W) iterations, W x 4096 rays each.
    assert scene_defaults(preset("paper"), fmt, world_size=4) == {"steps": 100_000}
    assert scene_defaults(preset("paper"), fmt, world_size=3) == {"steps": 133_334}  # rounded up
    assert scene_defaults(preset("paper"), fmt, world_size=1) == {}
    assert scene_defaults(preset("cpu"), fmt, world_size=2) == {}  # the cpu preset's 2 ranks keep its budget


def test_steps_for_ranks():
    assert steps_for_ranks(400_000, 1) == 400_000 and steps_for_ranks(400_000, 8) == 50_000
    assert steps_for_ranks(7, 2) == 4
    with pytest.raises(ValueError):
        steps_for_ranks(400_000, 0)


def test_paper_blender_under_mpi_divides_the_steps_unless_given(capsys):
    args = args_for()
    config = config_for("paper", args)
    assert load_training_scene(args, config, DEMO_SCENE, new_run=True, world_size=4, load=False) is None
    assert config.train.steps == 100_000 and "--steps 100000" in capsys.readouterr().err
    for options in ({"steps": 7}, {"overrides": ["train.steps=9"]}):
        args = args_for(**options)
        config = config_for("paper", args)
        load_training_scene(args, config, DEMO_SCENE, new_run=True, world_size=4, load=False)
        assert config.train.steps in (7, 9) and "note:" not in capsys.readouterr().err
    config = config_for("paper", args_for())
    load_training_scene(args_for(), config, DEMO_SCENE, new_run=False, world_size=4, load=False)
    assert config.train.steps == 400_000  # a resumed run keeps its steps


def test_default_preset_follows_the_device():
    assert default_preset("cuda") == "paper"
    assert default_preset("cpu") == "cpu"


def test_steps_for_epochs():
    assert steps_for_epochs(100, 4096, 4096) == 100 and steps_for_epochs(2, 4097, 4096) == 4
    with pytest.raises(ValueError):
        steps_for_epochs(1, 0, 4096)


def args_for(factor=None, steps=None, overrides=()):
    return TrainOptions(factor=factor, steps=steps, overrides=list(overrides))


def config_for(name, args):
    config = preset(name)
    if args.factor is not None:
        config.data.factor = args.factor
    if args.steps is not None:
        config.train.steps = args.steps
    return apply_overrides(config, args.overrides)


@pytest.fixture
def llff(tmp_path):
    """9 views (7 train, 2 held out): images_4/ at 6x8 and images_2/ at 12x16 of a 24x32 capture."""
    root = tmp_path / "llff"
    llff_fixtures.make_llff(root, n=9, height=6, width=8, factor=4)
    llff_fixtures.write_images(root / "images_2", 9, 12, 16)
    return root


def load(root, name, capsys, new_run=True, **options):
    args = args_for(**options)
    config = config_for(name, args)
    scene = load_training_scene(args, config, root, new_run=new_run)
    return config, scene, capsys.readouterr().err


def test_paper_llff_defaults_to_factor_4_and_100_epochs(llff, capsys):
    config, scene, err = load(llff, "paper", capsys, overrides=["train.rays_per_step=64"])
    assert config.data.factor == 4 and scene.intrinsics.height == 6
    assert config.train.steps == LLFF_PAPER_EPOCHS * 6  # ceil(7·6·8 / 64) = 6 steps per epoch
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert len(notes) == 2 and "--factor 4" in notes[0] and "--steps 600" in notes[1]


def test_paper_llff_explicit_factor_and_steps_win(llff, capsys):
    config, scene, err = load(llff, "paper", capsys, factor=2, overrides=["train.rays_per_step=64"])
    assert config.data.factor == 2 and scene.intrinsics.height == 12
    assert config.train.steps == 100 * 21 and "--factor" not in err  # the epochs at the given factor
    config, _, err = load(llff, "paper", capsys, steps=7)
    assert config.data.factor == 4 and config.train.steps == 7 and "--steps" not in err
    config, _, err = load(llff, "paper", capsys, overrides=["data.factor=2", "train.steps=9"])
    assert (config.data.factor, config.train.steps) == (2, 9) and "note:" not in err


def test_resumed_run_and_other_presets_keep_their_config(llff, capsys):
    config, _, err = load(llff, "paper", capsys, new_run=False, factor=4)
    assert config.train.steps == 400_000 and "note:" not in err
    config, _, err = load(llff, "cpu", capsys, factor=4)
    assert config.train.steps == preset("cpu").train.steps and "note:" not in err


def test_cpu_preset_keeps_factor_8_for_llff_without_full_size_images(tmp_path, capsys):
    root = tmp_path / "llff8"
    llff_fixtures.make_llff(root, n=9, height=6, width=8, factor=8)
    config, _, err = load(root, "cpu", capsys)
    assert config.data.factor == 8 and "--factor 8" in err
    with pytest.raises(InputError, match=r"images_4: folder is missing for --factor 4"):
        load(root, "paper", capsys)  # paper wants the official factor 4; the note says how to choose another


def test_llff_scene_without_full_size_images_defaults_to_factor_8(tmp_path):
    (tmp_path / "poses_bounds.npy").write_bytes(b"")
    (tmp_path / "images_8").mkdir()
    assert llff_without_full_size(tmp_path)
    (tmp_path / "images").mkdir()
    assert not llff_without_full_size(tmp_path)  # full-size images present: keep the preset's factor


def test_resolve_for_scene_gives_a_python_caller_the_commands_values(llff, capsys):
    """The policy is the presets' (jneusample.presets.resolve_for_scene), not the command line's: the same config
    and the same notes from Python as from `jneusample train`."""
    from jneusample.data import load_scene

    command, _, err = load(llff, "paper", capsys, overrides=["train.rays_per_step=64"])
    loads = []

    def train_rays(config):
        loads.append(config.data.factor)
        return train_ray_count(load_scene(llff, factor=config.data.factor, quiet=True))

    config = apply_overrides(preset("paper"), ["train.rays_per_step=64"])
    config, notes = resolve_for_scene(config, llff, "llff", train_rays=train_rays)
    assert config == command and loads == [4]
    assert [f"note: {text}" for text in notes] == [line for line in err.splitlines() if line.startswith("note: ")]
    config, notes = resolve_for_scene(apply_overrides(preset("paper"), []), llff, "llff", {"train.steps"})
    assert config.data.factor == 4 and config.train.steps == 400_000 and len(notes) == 1  # steps given: not counted
    with pytest.raises(ValueError, match="train_rays"):
        resolve_for_scene(preset("paper"), llff, "llff")
