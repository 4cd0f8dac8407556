"""``jneusample export`` end to end on the session's 4-step tiny run of the demo scene (depth, pointcloud, mesh),
and its one-line errors."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from conftest import error_line
from diskfull import disk_full  # noqa: F401  (fixture)
from jneusample.cli import main
from jneusample.data import load_scene
from jneusample.outputs.export import z_depth_from_ray_distance


def export(run_dir, *options: str) -> int:
    return main(["export", "--run", str(run_dir), "--no-progress", *options])


def summary(capsys) -> dict:
    """The JSON line the command printed last."""
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def hidden(folder) -> list[str]:
    """Staging folders or temporary files left behind in ``folder``."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_depth_maps(run_dir, tmp_path, capsys):
    out = tmp_path / "depth"
    # every pixel with any opacity gets a depth: an untrained field is faint
    assert export(run_dir, "--format", "depth", "--skip", "4", "--min-opacity", "0", "--out", str(out)) == 0
    assert summary(capsys)["views"] == 2 and hidden(tmp_path) == []
    kinds = ("_opacity.npy", "_ray_distance.npy", "_ray_distance.png", "_z_depth.npy", "_z_depth.png")
    assert sorted(p.name for p in out.iterdir()) == sorted(["depth.json"] + [f"r_{i}{k}" for i in (0, 4)
                                                                               for k in kinds])
    info = json.loads((out / "depth.json").read_text())
    assert [view["name"] for view in info["views"]] == ["r_0", "r_4"] and not info["ndc"]
    intrinsics = load_scene(None, quiet=True).intrinsics
    for view in info["views"]:
        name = view["name"]
        distance, z_depth = (np.load(out / f"{name}_{key}.npy") for key in ("ray_distance", "z_depth"))
        assert distance.shape == z_depth.shape == (64, 64) and distance.dtype == np.float32
        valid = distance > 0
        assert valid.sum() == view["pixels_with_depth"] > 0
        # a surface between the Blender bounds 2 and 6 (z-depth), seen along rays longer than the axis
        assert np.all((z_depth[valid] >= 2.0 - 1e-4) & (z_depth[valid] <= 6.0 + 1e-4))
        np.testing.assert_allclose(z_depth[valid], z_depth_from_ray_distance(distance, intrinsics)[valid],
                                   rtol=1e-5)
        for key in ("ray_distance", "z_depth"):
            image = Image.open(out / f"{name}_{key}.png")
            values = np.array(image).astype(np.float64)
            assert image.mode in ("I;16", "I") and values.max() == 65535
            expected = np.load(out / f"{name}_{key}.npy")
            np.testing.assert_allclose(values * view[f"{key}_png_scale"], expected, atol=view[f"{key}_png_scale"])


def test_point_cloud(run_dir, tmp_path, capsys):
    from plyfile import PlyData

    out = tmp_path / "cloud.ply"
    assert export(run_dir, "--format", "pointcloud", "--skip", "10", "--min-opacity", "0", "--out", str(out)) == 0
    result = summary(capsys)
    ply = PlyData.read(str(out))
    vertex = ply["vertex"].data
    assert not ply.text and len(vertex) == result["points"] > 0 and result["views"] == 4
    points = np.stack([vertex["x"], vertex["y"], vertex["z"]], -1)
    assert np.all(np.isfinite(points)) and vertex["red"].dtype == np.uint8
    # the demo's cameras are 4 units from the origin and see 2 to 6 units deep
    assert np.linalg.norm(points, axis=1).max() < 4.0 + 6.0 * 1.5


def test_mesh(run_dir, tmp_path, capsys):
    from plyfile import PlyData

    out = tmp_path / "mesh.ply"
    # a level above every density is refused with the grid's range, from which a level inside is taken
    assert export(run_dir, "--format", "mesh", "--resolution", "16", "--level", "1e9", "--out", str(out)) == 2
    line = error_line(capsys.readouterr().err)
    low, high = (float(v) for v in re.search(r"range over \[(\S+), (\S+)\]", line).groups())
    assert low < high and not out.exists()
    assert export(run_dir, "--format", "mesh", "--resolution", "16", "--level", str((low + high) / 2),
                  "--out", str(out)) == 0
    result = summary(capsys)
    ply = PlyData.read(str(out))
    vertices, faces = ply["vertex"].data, np.stack(ply["face"].data["vertex_indices"])
    assert len(vertices) == result["vertices"] > 0 and len(faces) == result["faces"] > 0
    assert faces.max() < len(vertices)
    lo, hi = (np.array(corner) for corner in result["bounds"])
    points = np.stack([vertices["x"], vertices["y"], vertices["z"]], -1)
    assert np.all((points >= lo - 1e-4) & (points <= hi + 1e-4))
    assert result["bounds_space"] == "world" and np.all(hi - lo > 2.0)  # a cube around the demo object


def test_depth_on_a_full_disk_leaves_no_folder(run_dir, tmp_path, capsys, disk_full):  # noqa: F811
    out = tmp_path / "depth"
    disk_full("_z_depth.png")
    assert export(run_dir, "--format", "depth", "--skip", "8", "--out", str(out)) == 2
    assert error_line(capsys.readouterr().err).startswith(f"error: disk full: {out / 'r_0_z_depth.png'}")
    assert not out.exists() and hidden(tmp_path) == []


@pytest.mark.parametrize("options, message", [
    (["--format", "obj"], "error: --format 'obj': expected depth, pointcloud or mesh"),
    (["--format", "mesh", "--resolution", "1"], "error: --resolution 1: expected 2 to 512 grid points per axis"),
    (["--format", "mesh", "--resolution", "4096"], "error: --resolution 4096: expected 2 to 512"),
    (["--format", "mesh", "--bounds", "1,2,3"], "error: --bounds '1,2,3': expected six numbers"),
    (["--format", "mesh", "--bounds", "0,0,0,1,x,1"], "error: --bounds '0,0,0,1,x,1': expected six numbers"),
    (["--format", "mesh", "--bounds", "0,0,0,1,-1,1"], "error: --bounds '0,0,0,1,-1,1': each minimum must be"),
    (["--format", "depth", "--skip", "0"], "error: --skip must be >= 1"),
])
def test_bad_options_are_one_line(run_dir, tmp_path, capsys, options, message):
    assert export(run_dir, *options, "--out", str(tmp_path / "out")) == 2
    assert error_line(capsys.readouterr().err).startswith(message)


def test_outputs_of_the_wrong_kind(run_dir, tmp_path, capsys):
    a_file = tmp_path / "taken"
    a_file.write_text("not a folder")
    assert export(run_dir, "--format", "depth", "--out", str(a_file)) == 2
    assert error_line(capsys.readouterr().err) == (f"error: {a_file}: exists and is a file; --format depth writes "
                                                   "a folder there")
    assert export(run_dir, "--format", "pointcloud", "--out", str(tmp_path)) == 2
    assert error_line(capsys.readouterr().err) == (f"error: {tmp_path}: is a folder; --format pointcloud writes "
                                                   "one .ply file")
    assert a_file.read_text() == "not a folder"
