"""benchmarks/val_curves.py: validation curves read from runs' metrics.jsonl, merged by label."""
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))  # the scripts import their harness from there
import val_curves as curves  # noqa: E402


def _run(root: Path, validations: list[tuple[int, float, float]]) -> Path:
    """A run folder's metrics.jsonl: training lines and (step, elapsed seconds, val PSNR) validation lines."""
    root.mkdir()
    lines = [{"step": step, "loss": 0.1, "psnr": 20.0, "elapsed_s": seconds} for step, seconds, _ in validations]
    lines += [{"step": step, "val_psnr": psnr, "val_views": 4, "elapsed_s": seconds}
              for step, seconds, psnr in validations]
    (root / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return root


def test_best_and_last_of_each_curve_merge_by_label(tmp_path):
    dip = _run(tmp_path / "dip", [(250, 60.0, 17.0), (500, 120.0, 21.5), (750, 180.0, 19.25)])
    rise = _run(tmp_path / "rise", [(250, 60.0, 16.0), (500, 120.0, 18.0)])
    results = tmp_path / "val_curves.json"
    assert curves.main(["--results", str(results), f"dip={dip}"]) == 0
    assert curves.main(["--results", str(results), f"rise={rise}"]) == 0
    runs = json.loads(results.read_text())["runs"]
    assert set(runs) == {"dip", "rise"}  # the second call kept the first's row
    assert (runs["dip"]["best_step"], runs["dip"]["best_val_psnr"]) == (500, 21.5)
    assert (runs["dip"]["last_step"], runs["dip"]["last_val_psnr"]) == (750, 19.25)
    assert runs["dip"]["curve"][2] == {"step": 750, "minutes": 3.0, "val_psnr": 19.25}
    assert runs["rise"]["best_step"] == runs["rise"]["last_step"] == 500


def test_a_run_without_validations_is_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "metrics.jsonl").write_text(json.dumps({"step": 1, "loss": 0.1}) + "\n")
    with pytest.raises(SystemExit, match="no validation records"):
        curves.main(["--results", str(tmp_path / "out.json"), f"empty={empty}"])
