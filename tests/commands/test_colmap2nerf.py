"""colmap2nerf: a hand-made 2-camera COLMAP model converts to a transforms.json whose rays hit the known point."""
from __future__ import annotations

import argparse
import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jneusample.commands import colmap2nerf
from jneusample.data.rays import pixel_rays
from jneusample.data.transforms import load_transforms
from jneusample.errors import InputError

W, H = 64, 48
FX, FY, CX, CY = 50.0, 55.0, 31.3, 23.1  # COLMAP pixel-edge convention
POINT = np.array([0.3, -0.2, 0.4])
S = np.sqrt(0.5)
# image id, (qw, qx, qy, qz) world-to-camera, t, name
IMAGES = [
    (1, (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 5.0), "a.png"),  # at (0, 0, −5) looking along +z
    (2, (S, 0.0, S, 0.0), (0.0, 0.0, 5.0), "b.png"),  # 90° about y: at (5, 0, 0) looking along −x
]


def rotation(q):
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def project(q, t):
    """COLMAP projection of POINT: (u, v) in the pixel-edge convention and the depth."""
    cam = rotation(q) @ POINT + np.asarray(t)
    return FX * cam[0] / cam[2] + CX, FY * cam[1] / cam[2] + CY, cam[2]


def write_text_model(model: Path, camera_line=f"1 PINHOLE {W} {H} {FX} {FY} {CX} {CY}", second_camera=None):
    model.mkdir(parents=True, exist_ok=True)
    cams = "# Camera list with one line of data per camera:\n" + camera_line + "\n"
    if second_camera:
        cams += second_camera + "\n"
    (model / "cameras.txt").write_text(cams)
    lines = ["# Image list with two lines of data per image:"]
    for image_id, q, t, name in IMAGES:
        u, v, _ = project(q, t)
        cam_id = 2 if (second_camera and image_id == 2) else 1
        lines.append(f"{image_id} {' '.join(map(str, q))} {' '.join(map(str, t))} {cam_id} {name}")
        lines.append(f"{u} {v} 7 10.0 10.0 -1")
    (model / "images.txt").write_text("\n".join(lines) + "\n")
    (model / "points3D.txt").write_text(f"# 3D point list\n7 {' '.join(map(str, POINT))} 128 128 128 0.5 1 0 2 0\n")


def write_binary_model(model: Path):
    model.mkdir(parents=True, exist_ok=True)
    with open(model / "cameras.bin", "wb") as f:
        f.write(struct.pack("<Q", 1) + struct.pack("<iiQQ", 1, 1, W, H) + struct.pack("<4d", FX, FY, CX, CY))
    with open(model / "images.bin", "wb") as f:
        f.write(struct.pack("<Q", len(IMAGES)))
        for image_id, q, t, name in IMAGES:
            u, v, _ = project(q, t)
            f.write(struct.pack("<I7dI", image_id, *q, *t, 1) + name.encode() + b"\x00")
            f.write(struct.pack("<Q", 2) + struct.pack("<ddq", u, v, 7) + struct.pack("<ddq", 10.0, 10.0, -1))
    with open(model / "points3D.bin", "wb") as f:
        f.write(struct.pack("<Q", 1) + struct.pack("<Q3d3BdQ", 7, *POINT, 128, 128, 128, 0.5, 2))
        f.write(struct.pack("<ii", 1, 0) + struct.pack("<ii", 2, 0))


def write_images(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    for _, _, _, name in IMAGES:
        Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(folder / name)


def run_cli(*argv) -> int:
    parser = argparse.ArgumentParser(prog="jneusample")
    sub = parser.add_subparsers(dest="command")
    colmap2nerf.register(sub)
    args = parser.parse_args(["colmap2nerf", *map(str, argv)])
    return args.func(args)


def distance_to_ray(point, origin, direction):
    direction = direction / np.linalg.norm(direction)
    offset = point - origin
    return np.linalg.norm(offset - np.dot(offset, direction) * direction)


def check_rays_through_point(scene_dir: Path):
    scene = load_transforms(scene_dir, holdout=0, normalize=False)
    views = scene.splits["train"]
    assert views.names == ["a", "b"]
    k = scene.intrinsics
    assert (k.fx, k.fy) == (FX, FY) and k.cx == pytest.approx(CX - 0.5) and k.cy == pytest.approx(CY - 0.5)
    for c2w, (_, q, t, _) in zip(views.c2w, IMAGES):
        u, v, _ = project(q, t)
        origin, direction = pixel_rays(c2w, k, np.array([u - 0.5]), np.array([v - 0.5]))
        assert distance_to_ray(POINT, origin[0].astype(float), direction[0].astype(float)) < 1e-5
        assert np.dot(POINT - origin[0], direction[0]) > 0  # in front of the camera


def test_text_model_rays_pass_through_the_point(tmp_path, capsys):
    write_text_model(tmp_path / "sparse")
    write_images(tmp_path / "scene" / "images")
    out = tmp_path / "scene" / "transforms.json"
    assert run_cli("--colmap", tmp_path / "sparse", "--images", tmp_path / "scene" / "images", "--out", out) == 0
    assert "wrote" in capsys.readouterr().out
    meta = json.loads(out.read_text())
    assert [f["file_path"] for f in meta["frames"]] == ["images/a.png", "images/b.png"]
    assert (meta["fl_x"], meta["cx"], meta["w"], meta["h"]) == (FX, CX, W, H)
    depths = [project(q, t)[2] for _, q, t, _ in IMAGES]
    assert meta["near"] == pytest.approx(0.9 * min(depths)) and meta["far"] == pytest.approx(max(depths))
    assert sorted(p.name for p in out.parent.iterdir()) == ["images", "transforms.json"]  # no temp file left
    check_rays_through_point(out.parent)


def test_normalised_world_keeps_the_rays_meeting(tmp_path):
    write_text_model(tmp_path / "sparse")
    write_images(tmp_path / "scene" / "images")
    run_cli("--colmap", tmp_path / "sparse", "--images", tmp_path / "scene" / "images")  # default --out
    scene = load_transforms(tmp_path / "scene", holdout=0)
    rays = []
    for c2w, (_, q, t, _) in zip(scene.splits["train"].c2w, IMAGES):
        u, v, _ = project(q, t)
        o, d = pixel_rays(c2w, scene.intrinsics, np.array([u - 0.5]), np.array([v - 0.5]))
        rays.append((o[0].astype(float), d[0].astype(float) / np.linalg.norm(d[0])))
    (o1, d1), (o2, d2) = rays
    normal = np.cross(d1, d2)
    assert abs(np.dot(o2 - o1, normal)) / np.linalg.norm(normal) < 1e-5  # the two rays intersect


def test_binary_model_matches_text(tmp_path):
    write_text_model(tmp_path / "text")
    write_binary_model(tmp_path / "bin")
    write_images(tmp_path / "images")
    run_cli("--colmap", tmp_path / "text", "--images", tmp_path / "images", "--out", tmp_path / "t.json")
    run_cli("--colmap", tmp_path / "bin", "--images", tmp_path / "images", "--out", tmp_path / "b.json")
    text, binary = (json.loads((tmp_path / name).read_text()) for name in ("t.json", "b.json"))
    for a, b in zip(text["frames"], binary["frames"]):
        assert a["file_path"] == b["file_path"]
        np.testing.assert_allclose(a["transform_matrix"], b["transform_matrix"], atol=1e-12)
    assert text["near"] == pytest.approx(binary["near"]) and text["far"] == pytest.approx(binary["far"])
    binary_dir = tmp_path / "bscene"
    binary_dir.mkdir()
    (tmp_path / "b.json").rename(binary_dir / "transforms.json")  # its paths are images/*.png
    shutil.copytree(tmp_path / "images", binary_dir / "images")  # scene files must stay inside the scene folder
    check_rays_through_point(binary_dir)


def test_ndc_flag_and_distortion_warning(tmp_path, capsys):
    write_text_model(tmp_path / "sparse", camera_line=f"1 SIMPLE_RADIAL {W} {H} {FX} {CX} {CY} 0.2")
    write_images(tmp_path / "images")
    run_cli("--colmap", tmp_path / "sparse", "--images", tmp_path / "images", "--out", tmp_path / "t.json", "--ndc")
    meta = json.loads((tmp_path / "t.json").read_text())
    assert meta["ndc"] is True and meta["k1"] == 0.2 and meta["fl_y"] == FX
    assert "lens distortion" in capsys.readouterr().err


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: None, r"sparse: no COLMAP model: expected cameras.txt and images.txt"),
        (lambda d: write_text_model(d / "sparse", camera_line=f"1 OPENCV_FISHEYE {W} {H} 50 50 32 24 0 0 0 0"),
         r"camera 1 uses the OPENCV_FISHEYE model"),
        (lambda d: write_text_model(d / "sparse", second_camera=f"2 PINHOLE {W} {H} 80 80 {CX} {CY}"),
         r"the images use 2 different cameras"),
        (lambda d: write_text_model(d / "sparse", camera_line=f"1 PINHOLE {W} {H} 50"),
         r"cameras.txt: line 2: PINHOLE needs 4 parameters, got 1"),
        (lambda d: write_text_model(d / "sparse", camera_line=f"1 NOPE {W} {H} 50"), r"unknown camera model 'NOPE'"),
    ],
)
def test_bad_models(tmp_path, setup, message):
    (tmp_path / "sparse").mkdir()
    setup(tmp_path)
    write_images(tmp_path / "images")
    with pytest.raises(InputError, match=message):
        run_cli("--colmap", tmp_path / "sparse", "--images", tmp_path / "images", "--out", tmp_path / "t.json")
    assert not (tmp_path / "t.json").exists()


def test_missing_image_and_model_hint(tmp_path):
    write_text_model(tmp_path / "sparse")
    write_images(tmp_path / "images")
    (tmp_path / "images" / "b.png").unlink()
    with pytest.raises(InputError, match=r"b.png: image registered in the COLMAP model is missing"):
        run_cli("--colmap", tmp_path / "sparse", "--images", tmp_path / "images", "--out", tmp_path / "t.json")
    write_binary_model(tmp_path / "mapped" / "0")
    with pytest.raises(InputError, match=r"no COLMAP model.*a model is in: .*mapped/0"):
        run_cli("--colmap", tmp_path / "mapped", "--images", tmp_path / "images", "--out", tmp_path / "t.json")


def test_help_text_for_every_option():
    parser = argparse.ArgumentParser(prog="jneusample")
    sub = parser.add_subparsers()
    cmd = colmap2nerf.register(sub)
    for action in cmd._actions:
        assert action.help, action.dest
    assert cmd.get_default("func") is colmap2nerf.run
