"""Scene files that must be refused with one line: paths outside the folder, bad rotations, bad numbers,
oversized images, 16-bit images read at the right scale, factors that do not fit."""
import json
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import look_at, write_blender_scene
from jneusample.data import load_scene
from jneusample.data.images import read_image
from jneusample.data.llff import read_poses_bounds
from jneusample.errors import InputError


def _edit_frame(root, split, index, **changes):
    path = root / f"transforms_{split}.json"
    meta = json.loads(path.read_text())
    meta["frames"][index].update(changes)
    path.write_text(json.dumps(meta))


def _transforms_scene(root, n=3, size=8):
    root.mkdir(parents=True)
    frames = []
    for i in range(n):
        Image.fromarray(np.full((size, size, 3), 40 * i, np.uint8)).save(root / f"f{i}.png")
        frames.append({"file_path": f"f{i}.png", "transform_matrix": look_at((4 * np.cos(i), 4 * np.sin(i), 1)).tolist()})
    (root / "transforms.json").write_text(json.dumps({"camera_angle_x": 0.8, "frames": frames}))
    return root


@pytest.mark.parametrize("fmt", ["blender", "transforms"])
@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_paths_outside_the_scene_are_refused_without_telling_whether_they_exist(tmp_path, fmt, how):
    secret = tmp_path / "secret.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(secret)
    root = write_blender_scene(tmp_path / "a" / "scene") if fmt == "blender" else _transforms_scene(tmp_path / "a" / "scene")
    messages = []
    for target in (secret, tmp_path / "missing.png"):
        if how == "dotdot":
            value = os.path.relpath(target, root)
        elif how == "absolute":
            value = str(target)
        else:
            link = root / f"link_{target.stem}.png"
            link.symlink_to(target)
            value = link.name
        if fmt == "blender":
            _edit_frame(root, "train", 0, file_path=value)
        else:
            meta = json.loads((root / "transforms.json").read_text())
            meta["frames"][0]["file_path"] = value
            (root / "transforms.json").write_text(json.dumps(meta))
        with pytest.raises(InputError) as info:
            load_scene(root, quiet=True)
        messages.append(str(info.value).replace(value, "X"))
        assert "outside the scene folder" in messages[-1] and "\n" not in messages[-1]
    assert messages[0] == messages[1]  # same words whether the outside file exists or not


def test_allow_outside_reads_the_outside_file(tmp_path):
    root = write_blender_scene(tmp_path / "scene", size=16)
    outside = tmp_path / "shared" / "img.png"
    outside.parent.mkdir()
    Image.fromarray(np.zeros((16, 16, 4), np.uint8)).save(outside)
    (root / "train" / "r_0.png").unlink()
    (root / "train" / "r_0.png").symlink_to(outside)
    with pytest.raises(InputError, match="outside the scene folder"):
        load_scene(root, quiet=True)
    assert len(load_scene(root, quiet=True, allow_outside=True).split("train")) == 4


def test_llff_symlinked_image_outside_is_refused(tmp_path):
    root = tmp_path / "llff"
    (root / "images_8").mkdir(parents=True)
    rows = []
    for i in range(3):
        pose = np.concatenate([np.eye(3)[:, [1, 0, 2]] * [1, -1, 1], [[0.1 * i], [0], [0]], [[8], [8], [10]]], 1)
        rows.append(np.concatenate([pose.ravel(), [1.0, 10.0]]))
    np.save(root / "poses_bounds.npy", np.array(rows))
    for i in range(3):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "images_8" / f"{i}.png")
    outside = tmp_path / "elsewhere.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(outside)
    (root / "images_8" / "1.png").unlink()
    (root / "images_8" / "1.png").symlink_to(outside)
    with pytest.raises(InputError, match="outside the scene folder"):
        load_scene(root, factor=8, quiet=True)


@pytest.mark.parametrize("matrix, words", [
    (np.diag([1.0, 1.0, 0.0, 1.0]), "not orthonormal"),        # singular
    (np.diag([2.0, 2.0, 2.0, 1.0]), "not orthonormal"),        # scaled
])
def test_singular_or_scaled_rotations_are_refused(tmp_path, matrix, words):
    root = write_blender_scene(tmp_path / "scene")
    _edit_frame(root, "train", 1, transform_matrix=matrix.tolist())
    with pytest.raises(InputError, match=f"transforms_train.json: frame 1: .*{words}"):
        load_scene(root, quiet=True)
    troot = _transforms_scene(tmp_path / "t")
    meta = json.loads((troot / "transforms.json").read_text())
    meta["frames"][2]["transform_matrix"] = matrix.tolist()
    (troot / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match=words):
        load_scene(troot, quiet=True)


def test_llff_uses_the_same_rotation_check(tmp_path):
    rows = np.zeros((2, 17))
    rows[:, :15] = np.concatenate([np.diag([1.0, 1.0, 0.0]), np.ones((3, 1)), [[8], [8], [10]]], 1).ravel()
    rows[:, 15:] = [1.0, 10.0]
    np.save(tmp_path / "poses_bounds.npy", rows)
    with pytest.raises(InputError, match="row 0: the 3x3 rotation part of the pose is not orthonormal"):
        read_poses_bounds(tmp_path / "poses_bounds.npy")


def test_camera_angle_true_is_refused(tmp_path):
    root = write_blender_scene(tmp_path / "scene", camera_angle_x=True)
    with pytest.raises(InputError, match="camera_angle_x"):
        load_scene(root, quiet=True)


def test_sixteen_bit_greyscale_is_scaled_by_65535(tmp_path):
    values = np.full((8, 8), 10880, np.uint16)  # 0.166 of full scale
    Image.fromarray(values).save(tmp_path / "g.png")
    assert Image.open(tmp_path / "g.png").mode.startswith("I")
    image = read_image(tmp_path / "g.png")
    assert image.shape == (8, 8, 3) and image.mean() == pytest.approx(10880 / 65535, abs=1e-6)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_rgb16_png(path, array: np.ndarray) -> None:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one), ``array`` (H, W, 3) uint16."""
    h, w, _ = array.shape
    raw = b"".join(b"\x00" + array[row].astype(">u2").tobytes() for row in range(h))
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
    data += _png_chunk(b"IDAT", zlib.compress(raw)) + _png_chunk(b"IEND", b"")
    path.write_bytes(data)


def test_sixteen_bit_rgb_keeps_its_scale(tmp_path):
    write_rgb16_png(tmp_path / "c.png", np.full((8, 8, 3), 10880, np.uint16))
    assert read_image(tmp_path / "c.png").mean() == pytest.approx(10880 / 65535, abs=1 / 255)


def write_bomb_png(path) -> None:
    """A tiny PNG whose header claims 100000x100000 pixels (Pillow refuses it as a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
    path.write_bytes(data + _png_chunk(b"IEND", b""))


def test_decompression_bomb_is_one_line(tmp_path):
    write_bomb_png(tmp_path / "bomb.png")
    with pytest.raises(InputError, match="bomb.png: image is too large"):
        read_image(tmp_path / "bomb.png")


def test_factor_larger_than_the_images_is_one_line(tmp_path):
    root = write_blender_scene(tmp_path / "scene", size=16)
    with pytest.raises(InputError, match="--factor 100 is larger than the 16x16 images"):
        load_scene(root, factor=100, quiet=True)


def test_factor_that_does_not_divide_crops_with_a_note(tmp_path, capsys):
    root = write_blender_scene(tmp_path / "scene", size=16)
    scene = load_scene(root, factor=3, quiet=True)
    assert scene.intrinsics.width == 5 and scene.split("train").images.shape[1:3] == (5, 5)
    err = capsys.readouterr().err
    assert err.count("note: 16x16 images do not divide by --factor 3") == 1 and "5x5" in err


def test_a_file_as_data_is_not_a_directory(tmp_path):
    (tmp_path / "file.json").write_text("{}")
    with pytest.raises(InputError, match="is not a directory"):
        load_scene(tmp_path / "file.json", quiet=True)
