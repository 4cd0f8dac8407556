import json

from jneusample.cli import main
from jneusample.commands.train import _llff_without_full_size


def test_llff_scene_without_full_size_images_defaults_to_factor_8(tmp_path):
    (tmp_path / "poses_bounds.npy").write_bytes(b"")
    (tmp_path / "images_8").mkdir()
    assert _llff_without_full_size(tmp_path)
    (tmp_path / "images").mkdir()
    assert not _llff_without_full_size(tmp_path)  # full-size images present: keep the preset's factor


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

