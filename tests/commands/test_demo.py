"""The README's first command ends in `jneusample demo`: a short training + evaluation of the demo scene."""
import json

import numpy as np
from PIL import Image

from jneusample.cli import main


def test_demo_trains_evaluates_draws_and_says_where(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--minutes", "0.02", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "test PSNR" in printed and str(out) in printed
    summary = json.loads(printed.strip().splitlines()[-1])
    assert summary["step"] >= 1
    results = json.loads((out / "eval_test" / "results.json").read_text())
    assert results["n_images"] == 8 and results["width"] == 64
    # ground truth (top) above the renders (bottom) of the 8 test views, 2-pixel white gaps
    strip = np.asarray(Image.open(out / "eval_test" / "strip.png"))
    assert strip.shape == (2 * 64 + 2, 8 * 64 + 7 * 2, 3)
    assert (strip[64:66] == 255).all()
    first_render = np.asarray(Image.open(out / "eval_test" / "r_0_rgb.png").convert("RGB"))
    assert np.array_equal(strip[66:, :64], first_render)
    # a second call finds the time budget spent: it re-evaluates the same run without training further
    assert main(["demo", "--minutes", "0.02", "--out", str(out), "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == summary["step"]
