"""benchmarks/gpu_check.py cannot rot: its --dry-run runs every step at toy size on the CPU (issue 12).

The dry run trains, evaluates, benchmarks and launches ``mpirun -np 1`` for real (tiny sizes): about a minute on
an idle 2-core machine, several under load.
"""
from __future__ import annotations

import importlib.util
import json
import math
import shutil
import sys
from pathlib import Path

from conftest import failure_output, run_command, write_blender_scene

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"
STEPS = ["install", "startup", "tests", "bench", "bench_tf32", "mpirun", "train", "eval", "eval_tf32"]


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dry_run_runs_every_step_and_writes_one_json_outside_the_repository():
    result = run_command([sys.executable, str(SCRIPT), "--dry-run"], timeout=1800)
    assert result.returncode == 0, failure_output(result)
    path = Path(result.stdout.strip().splitlines()[-1].split(" wrote ", 1)[1].rsplit(" (", 1)[0])
    try:
        assert REPO not in path.parents  # the dry run never writes into benchmarks/results/
        data = json.loads(path.read_text())
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    assert data["dry_run"] is True and data["date"] and "gpu_check.py" in data["command"]
    machine = data["machine"]
    assert machine["cpu_model"] and machine["cores"] >= 1 and len(machine["load_average"]) == 3
    assert data["jittor_version"] == "1.3.11.0"
    assert list(data["steps"]) == STEPS
    failed = {name: step for name, step in data["steps"].items() if step["status"] != "ok"}
    if failed.keys() == {"mpirun"} and failed["mpirun"]["error"] == "mpirun not on PATH":
        failed = {}
    assert not failed, json.dumps(failed, indent=1)[:3000]
    assert data["steps"]["startup"]["report"]["device"] == "cpu"
    assert data["steps"]["startup"]["report"]["argsort_ok"] is True
    assert data["steps"]["tests"]["results"]["failures"] == 0
    bench = data["summary"]["bench"]["models"]
    assert set(bench) == {"nerf", "neusample64"} and bench["neusample64"]["inf_cost"] > 0
    assert bench["neusample64"]["reference_sec_per_800x800"] == 4.56
    assert data["summary"]["bench_tf32"]["tf32"] is False  # TF32 exists on CUDA only
    assert data["summary"]["train_steps"] >= 1 and data["summary"]["train_points_per_sec"] > 0
    assert math.isfinite(data["summary"]["psnr"]) and math.isfinite(data["summary"]["psnr_tf32"])


def test_prepare_data_copies_a_trimmed_blender_scene(tmp_path):
    source = write_blender_scene(tmp_path / "lego", views={"train": 3, "val": 10, "test": 30})
    gpu_check = load_script()
    assert gpu_check.prepare_data(tmp_path / "subset", source) == 0
    counts = {split: len(json.loads((tmp_path / "subset" / f"transforms_{split}.json").read_text())["frames"])
              for split in ("train", "val", "test")}
    assert counts == {"train": 3, "val": 8, "test": 2}  # all train views, 8 val views, every 25th test view
    assert (tmp_path / "subset" / "test" / "r_25.png").is_file() and gpu_check.eval_skip(tmp_path / "subset") == 1
    assert gpu_check.eval_skip(source) == 3
