"""``jneusample bench`` (:mod:`jneusample.evaluation.benchmark`): JSON shape on a tiny image, NeRF as the unit of cost, FLOP counting, bad input."""
import argparse
import json

import pytest

from jneusample.evaluation import benchmark
from jneusample.commands import bench as cmd
from jneusample.errors import InputError


def _parse(argv):
    parser = argparse.ArgumentParser(prog="jneusample")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd.register(sub)
    return parser.parse_args(["bench", *argv])


def test_tiny_bench_writes_the_json_shape(tmp_path, capsys):
    out = tmp_path / "bench.json"
    args = _parse(["--height", "8", "--width", "6", "--repeats", "1", "--bands", "6", "--train-steps", "1",
                   "--train-rays", "8",
                   "--json", str(out), "--no-progress"])
    assert cmd.run(args) == 0
    results = json.loads(out.read_text())
    assert results["height"] == 8 and results["width"] == 6 and results["sgemm_gflops"] > 0
    assert set(results["models"]) == {"nerf", "neusample192", "neusample64"}
    assert results["peak_rss_mib"] > 0
    # provenance: when, how and on what (every published number has it)
    assert results["date"].startswith("20") and results["command"]  # this process: pytest
    assert results["machine"]["cpu_model"] and results["machine"]["cores"] >= 1
    assert 0 <= results["load_average"]["min"] <= results["load_average"]["max"]
    for name, entry in results["models"].items():
        for key in ("sec_per_image", "rays_per_sec", "points_per_sec", "gflops", "inf_cost", "flop_cost",
                    "train_points_per_sec"):
            assert entry[key] > 0, (name, key)
    models = results["models"]
    assert models["nerf"]["inf_cost"] == 1.0 and models["nerf"]["flop_cost"] == 1.0
    assert models["nerf"]["points_per_ray"] == 64 + 192
    assert (models["neusample192"]["points_per_ray"], models["neusample64"]["points_per_ray"]) == (192, 64)
    # MLP FLOPs: the paper's cost ratios (docs/method.md §4: ≈ 0.75 and ≈ 0.25)
    assert models["neusample192"]["flop_cost"] == pytest.approx(0.754, abs=0.005)
    assert models["neusample64"]["flop_cost"] == pytest.approx(0.254, abs=0.005)
    assert 0 < models["nerf"]["executed_gflops"] < models["nerf"]["gflops"]
    assert results["bands"] == 6
    assert "| nerf |" in capsys.readouterr().out


def test_flops_per_point_match_the_radiance_mlp():
    from jneusample.fields.flops import radiance_flops
    from jneusample.models.registry import build_model

    field = build_model(benchmark.model_config("neusample192")).radiance_field
    per_point, per_ray = radiance_flops(field)
    # 8x256 trunk with a 63-d input at layers 0 and 4, density 1, feature 256, colour 256→128→3
    assert per_point == 2 * (63 * 256 * 2 + 256 * 256 * 7 + 256 + 256 * 256 + 256 * 128 + 128 * 3)
    assert per_ray == 2 * 27 * 128


@pytest.mark.parametrize("argv, message", [
    (["--height", "0"], "--height 0"),
    (["--width", "-5"], "--width -5"),
    (["--width", "100000"], "--width 100000"),
    (["--models", "nerf,instantngp"], "unknown model 'instantngp'"),
    (["--models", "neusample1"], "unknown model 'neusample1'"),
    (["--models", ","], "--models"),
    (["--models", "nerf,nerf"], "twice"),
    (["--repeats", "0"], "--repeats 0"),
    (["--bands", "0"], "--bands 0"),
    (["--train-rays", "0"], "--train-rays 0"),
])
def test_bad_input_is_a_one_line_error(argv, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")) as info:
        cmd.check_args(_parse(argv))
    assert "\n" not in str(info.value)


def test_json_into_a_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        cmd.check_args(_parse(["--json", str(tmp_path)]))


def test_quantile_models_are_neusample_with_the_any_n_head():
    assert benchmark.parse_models("neusample64,quantile64") == ["neusample64", "quantile64"]
    config = benchmark.model_config("quantile48")
    assert (config.kind, config.sample_field_head, config.n_samples) == ("neusample", "quantile", 48)
    assert benchmark.model_config("neusample48").sample_field_head == "paper"
    with pytest.raises(InputError, match="unknown model 'quantile1'"):
        benchmark.parse_models("quantile1")
