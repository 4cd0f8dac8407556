"""benchmarks/any_n.py: the plan of commands (dry run) and the whole pipeline in its tiny mode."""
import importlib.util
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("any_n", REPO / "benchmarks" / "any_n.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["any_n"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_dry_run_plans_one_any_n_model_and_one_dedicated_model_per_n(capsys):
    bench = _module()
    assert bench.main(["--dry-run", "--scenes", "fern", "--minutes", "7", "--n-values", "8,24"]) == 0
    out = capsys.readouterr().out
    assert "model.sample_field_head=quantile" in out and "model.samples_choices=8,16,32,64" in out
    for n in (8, 24, 32):  # the any-N model's trained N (32) is evaluated too
        assert f"--run /tmp/any_n/fern/any --samples {n}" in out
        assert f"--out /tmp/any_n/fern/dedicated-n{n} --set model.n_samples={n}" in out
    assert out.count("--max-minutes 7 ") == 4 and "lego" not in out


def test_tiny_mode_runs_the_pipeline(tmp_path):
    bench = _module()
    assert bench.main(["--tiny", "--out", str(tmp_path)]) == 0
    demo = json.loads((tmp_path / "any_n.json").read_text())["scenes"]["demo"]
    assert sorted(demo["any"]["by_n"]) == sorted(demo["dedicated"]) == ["4", "8"]
    assert demo["any"]["steps"] == 4 and all(row["steps"] == 4 for row in demo["dedicated"].values())
    assert set(demo["psnr_any_minus_dedicated"]) == {"4", "8"}
    assert not (REPO / "benchmarks" / "results" / "any_n.json").exists() or "demo" not in json.loads(
        (REPO / "benchmarks" / "results" / "any_n.json").read_text())["scenes"]
