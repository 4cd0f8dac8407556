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
