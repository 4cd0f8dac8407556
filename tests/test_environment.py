"""The JNEUSAMPLE_* environment variables: one table, one reader each, the README's table is the table."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from jneusample import environment
from jneusample.errors import InputError

PACKAGE = Path(environment.__file__).parent
README = PACKAGE.parent / "README.md"


def test_every_jneusample_variable_named_in_the_package_is_in_the_table():
    used = {name for path in PACKAGE.rglob("*.py")
            for name in re.findall(r"JNEUSAMPLE_[A-Z0-9_]+", path.read_text(encoding="utf-8"))}
    assert used <= environment.NAMES, sorted(used - environment.NAMES)
    assert len(environment.NAMES) == len(environment.VARIABLES)  # no name twice


def test_only_environment_py_reads_them():
    """Other modules use the readers (os.environ.get(...) of a JNEUSAMPLE_ name or constant is not allowed)."""
    constants = "|".join(name.removeprefix("JNEUSAMPLE_") for name in environment.NAMES)
    pattern = re.compile(rf"os\.(environ|getenv)\W[^\n]*(JNEUSAMPLE_|_ENV\b|environment\.({constants})\b)")
    readers = [f"{path.relative_to(PACKAGE)}: {line.strip()}" for path in PACKAGE.rglob("*.py")
               if path.name != "environment.py"
               for line in path.read_text(encoding="utf-8").splitlines() if pattern.search(line)]
    assert readers == []


def test_the_readme_shows_the_table():
    assert environment.markdown_table() in README.read_text(encoding="utf-8")


def test_readers(monkeypatch):
    for name in environment.NAMES:
        monkeypatch.delenv(name, raising=False)
    assert (environment.device(), environment.tf32(), environment.cudnn(), environment.verbose()) == \
        ("auto", False, False, False)
    assert environment.fused_linear() and not environment.no_relaunch() and not environment.relaunched()
    assert environment.stop_file() is None and environment.param_digest_dir() is None
    assert environment.chunk_points() is None
    monkeypatch.setenv(environment.DEVICE, " CPU ")
    monkeypatch.setenv(environment.FUSED_LINEAR, "0")
    monkeypatch.setenv(environment.RELAUNCHED, "2")
    monkeypatch.setenv(environment.CHUNK_POINTS, "4096")
    monkeypatch.setenv(environment.STOP_FILE, "/tmp/stop")
    assert environment.device() == "cpu" and not environment.fused_linear() and environment.relaunched()
    assert environment.chunk_points() == 4096 and environment.stop_file() == "/tmp/stop"
    monkeypatch.setenv(environment.DEVICE, "gpu")
    with pytest.raises(InputError, match=r"^JNEUSAMPLE_DEVICE='gpu': expected auto, cpu or cuda$"):
        environment.device()
    monkeypatch.setenv(environment.CHUNK_POINTS, "0")
    with pytest.raises(InputError, match=r"^JNEUSAMPLE_CHUNK_POINTS='0': expected a positive number of points$"):
        environment.chunk_points()


def test_environment_py_does_not_import_jittor():
    import subprocess
    import sys

    code = ("import sys, jneusample.environment; "
            "assert 'jittor' not in sys.modules and 'jneusample.platform.backend' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)
