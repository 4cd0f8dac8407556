"""The ``view`` subcommand: it serves the page on loopback, and bad input is one ``error:`` line."""
from __future__ import annotations

import ipaddress
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import JNEUSAMPLE, REPO, error_line, run_command

pytest.importorskip("viser", reason="the viewer needs viser (pip install viser==1.1.1)")


def view_error(*args: str) -> str:
    """The one error line of a ``view`` command expected to fail (and to fail fast, before serving)."""
    result = run_command(JNEUSAMPLE + ["view", *args], timeout=120)
    assert result.returncode == 2, result.stderr
    return error_line(result.stderr)


def test_missing_run_is_one_line(tmp_path):
    line = view_error("--run", str(tmp_path / "nothing"), "--port", "0")
    assert str(tmp_path / "nothing") in line and "does not exist" in line


def test_run_without_checkpoint_is_one_line(run_dir, tmp_path):
    untrained = tmp_path / "untrained"
    untrained.mkdir()
    for name in ("config.json", "scene.json"):
        (untrained / name).write_text((run_dir / name).read_text())
    line = view_error("--run", str(untrained), "--port", "0")
    assert "no checkpoint" in line and str(untrained) in line


def test_port_in_use_is_one_line_and_other_hosts_warn(run_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = view_error("--run", str(run_dir), "--port", str(port))
        assert f"--port {port}" in line and "choose another port" in line
        # Another host is served only when asked, with a warning; here the port is taken, so nothing is served.
        result = run_command(JNEUSAMPLE + ["view", "--run", str(run_dir), "--host", "0.0.0.0", "--port", str(port)],
                             timeout=120)
        assert result.returncode == 2
        assert "warning: --host 0.0.0.0 is not loopback" in result.stderr


def test_bad_options_are_one_line(run_dir):
    assert "--port must be between 0 and 65535" in view_error("--run", str(run_dir), "--port", "70000")
    assert "--factor must be a positive integer" in view_error("--run", str(run_dir), "--factor", "0",
                                                                "--port", "0")
    assert "--host no-such-host.invalid: cannot be resolved" in view_error(
        "--run", str(run_dir), "--host", "no-such-host.invalid")


def test_serves_the_page_on_loopback_until_interrupted(run_dir):
    process = subprocess.Popen(JNEUSAMPLE + ["view", "--run", str(run_dir), "--port", "0"], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or not lines[-1].startswith("viewer: "):  # printed once the server listens (after viser's box)
            lines.append(process.stdout.readline())
            assert lines[-1] or process.poll() is None, "".join(lines) + process.stderr.read()
        match = re.match(r"viewer: (http://127\.0\.0\.1:(\d+)) \(step 4;", lines[-1])
        assert match, "".join(lines)
        with urllib.request.urlopen(match.group(1), timeout=30) as response:
            page = response.read().decode()
        assert response.status == 200 and "<html" in page.lower()
        address = socket.gethostbyname(socket.gethostname())
        if not ipaddress.ip_address(address).is_loopback:  # loopback only: closed on the machine's own address
            with socket.socket() as other:
                other.settimeout(5)
                assert other.connect_ex((address, int(match.group(2)))) != 0
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode in (0, 130), process.stderr.read()
