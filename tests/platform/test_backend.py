"""Device choice before Jittor starts (jneusample.platform.startup) and the backend's device helpers (no GPU needed)."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jneusample.platform import backend, startup
from jneusample.errors import InputError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(startup, "gpu_present", lambda: False)
    monkeypatch.delenv("nvcc_path", raising=False)
    return monkeypatch


def fake_toolkit(root: Path, libs=("cudart", "cublas", "curand"), headers=("cublas", "curand")) -> Path:
    """A CUDA-like folder: bin/nvcc (an ELF-looking file), lib64/lib*.so, include/*.h."""
    for sub in ("bin", "lib64", "include"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    nvcc = root / "bin" / "nvcc"
    nvcc.write_bytes(b"\x7fELF fake")
    for name in libs:
        (root / "lib64" / f"lib{name}.so").write_bytes(b"")
    for name in headers:
        (root / "include" / f"{name}.h").write_text("")
    return nvcc


def test_device_choice_is_checked(monkeypatch):
    monkeypatch.setenv(startup.DEVICE_ENV, "gpu")
    with pytest.raises(InputError, match="expected auto, cpu or cuda"):
        startup.requested_device()
    monkeypatch.setenv(startup.DEVICE_ENV, " CUDA ")
    assert startup.requested_device() == "cuda"
    monkeypatch.delenv(startup.DEVICE_ENV)
    assert startup.requested_device() == "auto"


def test_cpu_and_auto_without_gpu_choose_the_cpu(no_gpu):
    assert startup.resolve_device("cpu").device == "cpu"
    decision = startup.resolve_device("auto")
    assert decision.device == "cpu" and decision.note is None


def test_cuda_without_gpu_is_one_line_naming_the_problem(no_gpu):
    with pytest.raises(InputError) as info:
        startup.resolve_device("cuda")
    message = str(info.value)
    assert "\n" not in message and "no NVIDIA GPU" in message and "JNEUSAMPLE_DEVICE=cpu" in message


def test_auto_with_a_gpu_but_no_nvcc_falls_back_with_a_note(monkeypatch):
    monkeypatch.setattr(startup, "gpu_present", lambda: True)
    monkeypatch.setattr(startup, "driver_loadable", lambda: True)
    monkeypatch.setattr(startup, "find_nvcc", lambda: None)
    decision = startup.resolve_device("auto")
    assert decision.device == "cpu" and "nvcc" in decision.note and "download" in decision.note
    with pytest.raises(InputError, match="nvcc"):
        startup.resolve_device("cuda")


def test_wrapper_scripts_are_unwrapped_to_the_real_nvcc(tmp_path, monkeypatch):
    real = fake_toolkit(tmp_path / "cuda-13.0")
    wrapper = tmp_path / "bin" / "nvcc"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec {real} "$@"\n')
    monkeypatch.setenv("nvcc_path", str(wrapper))
    assert startup.find_nvcc() == str(real.resolve())


def test_toolkit_inventory_and_missing_libraries(tmp_path, monkeypatch):
    monkeypatch.setattr(startup, "gpu_present", lambda: True)
    monkeypatch.setattr(startup, "driver_loadable", lambda: True)
    monkeypatch.setattr(startup, "nvcc_version", lambda nvcc: (13, 0))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    full = startup.CudaToolkit.locate(str(fake_toolkit(tmp_path / "full")))
    assert full.version == (13, 0) and full.libraries["cublas"] and full.libraries["cudnn"] is None
    assert startup.cuda_problems(full) == []  # cuDNN is not needed (backend sets conv_opt=1)
    partial = startup.CudaToolkit.locate(str(fake_toolkit(tmp_path / "partial", libs=("cudart",), headers=())))
    problems = startup.cuda_problems(partial)
    assert len(problems) == 2 and "cuBLAS" in problems[0] and "cuda-libraries-dev-13-0" in problems[0]


def test_a_jtcuda_folder_without_nvcc_would_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("JITTOR_HOME", raising=False)
    assert startup.jittor_home() == str(tmp_path)
    assert not startup.jtcuda_would_download()
    (tmp_path / ".cache" / "jittor" / "jtcuda").mkdir(parents=True)
    assert startup.jtcuda_would_download()


def test_jittor_home_is_found_as_jittor_finds_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("JITTOR_HOME", raising=False)
    (tmp_path / ".cache" / "jittor").mkdir(parents=True)
    (tmp_path / ".cache" / "jittor" / "config.json").write_text('{"JITTOR_HOME": "%s"}' % (tmp_path / "saved"))
    assert startup.jittor_home() == str(tmp_path / "saved")
    monkeypatch.setenv("JITTOR_HOME", str(tmp_path / "env"))
    assert startup.jittor_home() == str(tmp_path / "env")


def test_chunk_points_follow_device_memory():
    assert backend.chunk_points_for_memory(139 << 30) == backend.CUDA_CHUNK_POINTS_MAX
    assert backend.chunk_points_for_memory(1 << 30) == 1 << 17  # 0.5 GiB / 3700 B ≈ 145k → 131072
    assert backend.chunk_points_for_memory(1 << 20) == backend.CUDA_CHUNK_POINTS_MIN
    for free in (3 << 30, 40 << 30):
        points = backend.chunk_points_for_memory(free)
        assert points & (points - 1) == 0 and points * backend.BYTES_PER_CHUNK_POINT <= free


def test_render_chunk_points_on_this_device(monkeypatch):
    if backend.DEVICE == "cpu":
        assert backend.render_chunk_points(12345) == 12345  # the configured value
    monkeypatch.setenv("JNEUSAMPLE_CHUNK_POINTS", "4096")
    assert backend.render_chunk_points(12345) == 4096
    monkeypatch.setenv("JNEUSAMPLE_CHUNK_POINTS", "lots")
    with pytest.raises(InputError, match="JNEUSAMPLE_CHUNK_POINTS"):
        backend.render_chunk_points(12345)


def test_startup_report_is_plain_data():
    report = backend.startup_report()
    assert report["device"] == backend.DEVICE and report["tf32"] is backend.TF32
    if backend.DEVICE == "cpu":
        assert report["tf32"] is False and report["env"]["nvcc_path"] == ""


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
            names.update("." * node.level + alias.name for alias in node.names if not node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_import_cycle_between_backend_distributed_and_startup():
    package = REPO / "jneusample" / "platform"
    assert not any("distributed" in name for name in imported_modules(package / "backend.py"))
    startup_imports = imported_modules(package / "startup.py")
    assert not any(name.startswith("jittor") or "backend" in name or "distributed" in name
                   for name in startup_imports), startup_imports


@pytest.mark.skipif(startup.gpu_present(), reason="needs a machine without a GPU")
def test_cli_with_cuda_asked_for_and_no_gpu_prints_one_line(tmp_path):
    env = dict(os.environ, JNEUSAMPLE_DEVICE="cuda")
    result = subprocess.run([sys.executable, "-m", "jneusample", "bench", "--height", "2", "--width", "2",
                             "--no-progress"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: JNEUSAMPLE_DEVICE=cuda but CUDA cannot work here"), lines


def test_every_module_imports_jittor_only_after_the_backend_configured_it():
    """A module-level ``import jittor`` / ``from jittor import ...`` before ``platform.backend`` is imported would
    start Jittor unconfigured (it probes CUDA, ignores the device choice) when that module is imported first."""
    import ast

    early = []
    for path in sorted((REPO / "jneusample").rglob("*.py")):
        if path.name == "backend.py":
            continue
        configured = False
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            module = node.module or "" if isinstance(node, ast.ImportFrom) else node.names[0].name
            if module.endswith("backend") or any(alias.name == "backend" for alias in node.names):
                configured = True
            elif module.split(".")[0] == "jittor" and not configured:
                early.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not early, early
