"""benchmarks/any_n.py: the plan of commands (dry run), the whole pipeline in its quick mode, and its figure."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))  # the scripts import their harness from there


def _module():
    spec = importlib.util.spec_from_file_location("any_n", REPO / "benchmarks" / "any_n.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["any_n"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)  # the script puts benchmarks/ on sys.path for its harness
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
    # the paper's route to a smaller N: a parent for M − E minutes, extracted for E (a quarter by default)
    assert "--max-minutes 5.25 --out /tmp/any_n/fern/parent-n32 --set model.n_samples=32" in out
    for n in (8, 24):
        assert (f"extract --run /tmp/any_n/fern/parent-n32 --samples {n} --max-minutes 1.75 --steps 1000000 "
                f"--out /tmp/any_n/fern/extracted-n{n}") in out
    assert "extracted-n32" not in out


def test_dry_run_without_extraction(capsys):
    bench = _module()
    assert bench.main(["--dry-run", "--scenes", "lego", "--minutes", "4", "--extract-minutes", "0"]) == 0
    out = capsys.readouterr().out
    assert "extract " not in out and "parent-n" not in out


def test_dry_run_set_reaches_every_trained_model_and_any_set_only_the_any_n_model(capsys):
    bench = _module()
    assert bench.main(["--dry-run", "--scenes", "fern", "--minutes", "4", "--n-values", "8",
                       "--set", "model.interval_encoding=true", "--any-set", "model.samples_choices_share=points"]) == 0
    trains = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  jneusample train")]
    assert len(trains) == 4  # any, dedicated 8, dedicated 32, parent 32 (the extraction keeps its parent's config)
    assert all("--set model.interval_encoding=true" in line for line in trains)
    assert [("model.samples_choices_share=points" in line) for line in trains] == [True, False, False, False]


def test_tiny_mode_runs_the_pipeline(tmp_path):
    bench = _module()
    assert bench.main(["--quick", "--out", str(tmp_path)]) == 0
    demo = json.loads((tmp_path / "any_n.json").read_text())["scenes"]["demo"]
    assert sorted(demo["any"]["by_n"]) == sorted(demo["dedicated"]) == ["4", "8"]
    assert demo["any"]["steps"] == 4 and all(row["steps"] == 4 for row in demo["dedicated"].values())
    assert set(demo["psnr_any_minus_dedicated"]) == {"4", "8"}
    assert sorted(demo["parent"]) == ["8"] and sorted(demo["extracted"]) == ["4"]
    assert demo["parent"]["8"]["steps"] == 2 and demo["extracted"]["4"]["steps"] == 2
    best = max(demo["dedicated"]["4"]["psnr"], demo["extracted"]["4"]["psnr"])
    assert demo["psnr_any_minus_best_dedicated"]["4"] == demo["any"]["by_n"]["4"]["psnr"] - best
    plot = subprocess.run([sys.executable, str(REPO / "benchmarks" / "any_n.py"), "--plot-only", "--results",
                           str(tmp_path / "any_n.json"), "--figure", str(tmp_path / "any_n.png")],
                          capture_output=True, text=True)
    assert plot.returncode == 0, plot.stderr
    assert (tmp_path / "any_n.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (REPO / "benchmarks" / "results" / "any_n.json").exists() or "demo" not in json.loads(
        (REPO / "benchmarks" / "results" / "any_n.json").read_text())["scenes"]
