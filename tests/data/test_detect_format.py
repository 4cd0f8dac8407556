"""Format detection names what it looked for."""
from __future__ import annotations

import pytest

from jneusample.data import detect_format, load_scene
from jneusample.errors import InputError


def test_empty_folder_lists_the_markers(tmp_path):
    with pytest.raises(InputError) as info:
        detect_format(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "\n" not in message
    for marker in ("transforms_train.json", "poses_bounds.npy", "transforms.json"):
        assert marker in message


def test_missing_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_scene(tmp_path / "nowhere", quiet=True)


def test_each_marker_is_recognised(tmp_path):
    for marker, name in (("transforms_train.json", "blender"), ("poses_bounds.npy", "llff"),
                         ("transforms.json", "transforms")):
        folder = tmp_path / name
        folder.mkdir()
        (folder / marker).write_text("")
        assert detect_format(folder) == name
