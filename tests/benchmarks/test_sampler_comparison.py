"""benchmarks/sampler_comparison.py: the plan of the grid, NeRF's split at equal points, and the figure."""
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
import sampler_comparison as bench  # noqa: E402


@pytest.mark.parametrize("n, coarse, importance", [(8, 3, 2), (16, 4, 8), (32, 8, 16), (64, 16, 32)])
def test_nerf_queries_n_points_per_ray_in_all(n, coarse, importance):
    assert bench.nerf_counts(n) == (coarse, importance)
    assert coarse + (coarse + importance) == n  # coarse pass + fine pass (which re-queries the coarse samples)


def test_dry_run_plans_every_method_with_its_overrides(capsys):
    assert bench.main(["--dry-run", "--scenes", "demo", "--n-values", "8", "--minutes", "2",
                       "--methods", "neusample,stratified,nerf,paper-head"]) == 0
    lines = capsys.readouterr().out.splitlines()
    trains = [line for line in lines if " train " in line]
    assert len(trains) == 4 and all("--max-minutes 2 " in line and "--preset quick" in line for line in trains)
    assert "model.sample_field_proposal_loss=1" in trains[0] and "model.n_samples=8" in trains[0]
    assert "model.kind=stratified" in trains[1]
    assert "model.kind=nerf --set model.n_coarse=3 --set model.n_importance=2" in trains[2]
    assert "model.sample_field_proposal_loss=0" in trains[3]
    placements = [line for line in lines if " placement " in line]
    assert len(placements) == 2  # the two sample-field methods only


def test_the_figure_shows_psnr_against_seconds_per_image(tmp_path):
    rows = [{"method": m, "scene": s, "n": n, "seed": 0, "minutes": 5.0, "sec_per_image": 0.01 * n * k,
             "test_psnr": 20.0 + k + np.log2(n)}
            for s in ("lego", "fern") for k, m in enumerate(("neusample", "stratified", "nerf"), 1)
            for n in (8, 32)]
    path = bench.plot(rows, tmp_path / "figure.png")
    from PIL import Image

    image = np.asarray(Image.open(path).convert("RGB")).astype(np.int32)
    assert image.shape[1] > image.shape[0] > 200  # two panels side by side
    red = (image[..., 0] > 150) & (image[..., 1] < 80) & (image[..., 2] < 80)  # neusample's line (C3)
    blue = (image[..., 2] > 150) & (image[..., 0] < 80)  # stratified's line (C0)
    assert red.sum() > 50 and blue.sum() > 50
    # the left half (lego) and the right half (fern) both carry curves
    assert red[:, : image.shape[1] // 2].any() and red[:, image.shape[1] // 2:].any()


def test_overrides_of_every_model_get_their_own_folders_and_rows(capsys):
    """--set model.interval_encoding=true must neither resume the runs made without it nor replace their rows."""
    assert bench.main(["--dry-run", "--scenes", "lego", "--n-values", "8", "--methods", "stratified"]) == 0
    plain = [line for line in capsys.readouterr().out.splitlines() if " train " in line][0]
    assert bench.main(["--dry-run", "--scenes", "lego", "--n-values", "8", "--methods", "stratified",
                       "--set", "model.interval_encoding=true"]) == 0
    encoded = [line for line in capsys.readouterr().out.splitlines() if " train " in line][0]
    folder = lambda line: line.split(" --out ")[1].split()[0]  # noqa: E731
    assert "--set model.interval_encoding=true" in encoded and folder(plain) != folder(encoded)
    row = {"method": "stratified", "scene": "lego", "n": 8, "seed": 0, "minutes": 5.0}
    assert bench.key(row) != bench.key({**row, "all_set": ["model.interval_encoding=true"]})
