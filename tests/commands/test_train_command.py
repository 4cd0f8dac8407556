from jneusample.commands.train import _llff_without_full_size


def test_llff_scene_without_full_size_images_defaults_to_factor_8(tmp_path):
    (tmp_path / "poses_bounds.npy").write_bytes(b"")
    (tmp_path / "images_8").mkdir()
    assert _llff_without_full_size(tmp_path)
    (tmp_path / "images").mkdir()
    assert not _llff_without_full_size(tmp_path)  # full-size images present: keep the preset's factor
