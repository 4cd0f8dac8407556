"""main.py: the reference port's command line (``--stage train|test|fine_tune|test2``) mapped onto jneusample."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_command
DEMO = REPO / "jneusample" / "assets" / "demo_scene"


def load_main():
    spec = importlib.util.spec_from_file_location("jneusample_main_compat", REPO / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


main_py = load_main()


def mapped(*argv: str) -> list[str]:
    argv = list(argv)
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    return main_py.command_for(main_py.build_parser().parse_args(argv), extra)


def test_train_maps_to_jneusample_train_with_the_ports_data_layout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dataset" / "nerf_synthetic" / "ship").mkdir(parents=True)
    assert mapped("--stage", "train", "--obj_class", "ship") == [
        "train", "--data", str(Path("dataset/nerf_synthetic/ship")), "--preset", "paper",
        "--out", str(Path("out/ship/paper"))]
    assert mapped("--stage", "train", "--data", str(DEMO), "--preset", "tiny", "--work_dir", "w",
                  "--", "--steps", "7") == [
        "train", "--data", str(DEMO), "--preset", "tiny", "--out", str(Path("w/lego/tiny")), "--steps", "7"]


def test_train_resumes_an_existing_run(tmp_path):
    run = tmp_path / "lego" / "tiny" / "checkpoints"
    run.mkdir(parents=True)
    (run / "step_00000010.ckpt").write_bytes(b"")
    command = mapped("--stage", "train", "--data", str(DEMO), "--preset", "tiny", "--work_dir", str(tmp_path))
    assert command[-1] == "--resume"


def test_evaluation_and_extraction_stages(tmp_path):
    work = str(tmp_path)
    assert mapped("--stage", "test", "--work_dir", work) == [
        "eval", "--run", str(tmp_path / "lego" / "paper"), "--split", "val"]
    assert mapped("--stage", "fine_tune", "--work_dir", work, "--load_path", str(tmp_path)) == [
        "extract", "--run", str(tmp_path), "--samples", "64", "--out", str(tmp_path / "lego" / "paper-n64")]
    assert mapped("--stage", "test2", "--work_dir", work) == [
        "eval", "--run", str(tmp_path / "lego" / "paper-n64"), "--split", "val"]
    assert mapped("--work_dir", work) == mapped("--stage", "test2", "--work_dir", work), "test2 is the default"
    assert mapped("--stage", "test", "--load_path", "elsewhere", "--", "--lpips", "vgg")[2:] == [
        "elsewhere", "--split", "val", "--lpips", "vgg"]


def run_main(*argv: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return run_command([sys.executable, str(REPO / "main.py"), *argv], cwd=cwd, timeout=300)


def test_user_errors_are_one_line(tmp_path):
    for argv, needle in ((("--stage", "bogus"), "unknown stage"),
                         (("--stage", "train", "--obj_class", "nothing_here"), "--data DIR"),
                         (("--stage", "test", "--load_path", str(REPO / "main.py")), "run directory")):
        result = run_main(*argv, "--dry-run", cwd=tmp_path)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr


def test_help_and_dry_run():
    result = run_main("--help")
    assert result.returncode == 0 and "--stage" in result.stdout and "--load_path" in result.stdout
    result = run_main("--stage", "train", "--data", str(DEMO), "--dry-run")
    assert result.returncode == 0
    assert result.stdout.strip() == (f"python -m jneusample train --data {DEMO} --preset paper "
                                     f"--out {Path('out/lego/paper')}")


def test_all_four_stages_run(tmp_path):
    """train → test → fine_tune → test2 on the demo scene with the tiny preset, through main.py."""
    common = ("--data", str(DEMO), "--preset", "tiny", "--work_dir", str(tmp_path), "--samples", "4")
    evaluation = ("--", "--lpips", "none", "--no-images", "--no-progress")
    steps = {"train": ("--", "--steps", "3", "--no-progress"), "test": evaluation,
             "fine_tune": ("--", "--steps", "2", "--no-progress"), "test2": evaluation}
    outputs = {}
    for stage, extra in steps.items():
        result = run_main("--stage", stage, *common, *extra, cwd=tmp_path)
        assert result.returncode == 0, f"{stage}: {result.stderr[-3000:]}"
        assert "note: main.py --stage" in result.stderr and "python -m jneusample" in result.stderr
        outputs[stage] = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    assert outputs["train"]["step"] == 3 and outputs["fine_tune"]["step"] == 2
    assert outputs["test"]["split"] == outputs["test2"]["split"] == "val"
    assert outputs["test"]["points_per_ray"] == 8 and outputs["test2"]["points_per_ray"] == 4
    assert Path(outputs["test2"]["run_dir"]) == tmp_path / "lego" / "tiny-n4"
