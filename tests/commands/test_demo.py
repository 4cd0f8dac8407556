"""The README's first command ends in `jneusample demo`: a short training + evaluation of the demo scene."""
import json

from jneusample.cli import main


def test_demo_trains_evaluates_and_says_where(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--steps", "2", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "test PSNR" in printed and str(out) in printed
    results = json.loads((out / "eval_test" / "results.json").read_text())
    assert results["n_images"] == 8 and results["width"] == 64
    assert main(["demo", "--steps", "3", "--out", str(out), "--no-progress"]) == 0  # runs again: continues
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 3
