"""The tests' own child-process helper (conftest.run_command): one rerun after a crash inside the engine only."""
import sys

import pytest

from conftest import failure_output, run_command

CRASH_ONCE = """
import os, signal, sys
marker = sys.argv[1]
if not os.path.exists(marker):
    open(marker, "w").close()
    os.kill(os.getpid(), signal.SIGSEGV)
print("second run")
"""


def test_a_crash_is_run_once_more_with_a_warning(tmp_path):
    with pytest.warns(UserWarning, match="Jittor crashed"):
        result = run_command([sys.executable, "-c", CRASH_ONCE, str(tmp_path / "crashed")])
    assert result.returncode == 0 and result.stdout.strip() == "second run"


def test_a_crash_on_the_rerun_too_is_returned(tmp_path):
    crash = "import os, signal; print('before'); os.kill(os.getpid(), signal.SIGSEGV)"
    with pytest.warns(UserWarning):
        result = run_command([sys.executable, "-c", crash])
    assert result.returncode < 0
    assert "exit -11" in failure_output(result) and "before" in failure_output(result)


def test_an_ordinary_failure_is_not_rerun(tmp_path):
    marker = tmp_path / "runs"
    once = f"import sys; open({str(marker)!r}, 'a').write('x'); sys.exit('error: no such file')"
    result = run_command([sys.executable, "-c", once])
    assert result.returncode == 1 and marker.read_text() == "x"
    assert "error: no such file" in failure_output(result)
