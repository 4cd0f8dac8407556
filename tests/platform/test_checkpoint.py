"""Checkpoint loading refuses pickles that would run code: one-line error, and the code never runs."""
from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

from jneusample.platform.checkpoint import load_checkpoint
from jneusample.cli import main
from jneusample.errors import InputError


class CreatesFile:
    """Unpickling this calls ``opener(path, ...)``: with a plain ``pickle.load`` the file would be created."""

    def __init__(self, opener, path: Path):
        self.opener, self.path = opener, path

    def __reduce__(self):
        if self.opener is os.system:
            return os.system, (f"touch {self.path}",)
        return open, (str(self.path), "w")


def malicious_checkpoint(path: Path, opener, target: Path) -> Path:
    """A file shaped like a checkpoint whose ``model`` entry is the code-running object."""
    payload = {"format": "jneusample-checkpoint", "version": 1, "step": 1, "config": {},
               "model": CreatesFile(opener, target)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    return path


@pytest.mark.parametrize("opener", [open, os.system], ids=["builtins.open", "os.system"])
def test_code_running_pickle_is_refused(tmp_path, opener):
    target = tmp_path / "pwned"
    ckpt = malicious_checkpoint(tmp_path / "step_00000001.ckpt", opener, target)
    with pytest.raises(InputError) as info:
        load_checkpoint(ckpt)
    message = str(info.value)
    assert "\n" not in message and str(ckpt) in message
    assert not target.exists(), "the pickle's code ran"
    # the same file through a plain pickle.load would have created it: the test checks something real
    with open(ckpt, "rb") as handle:
        pickle.load(handle)
    assert target.exists()


def test_cli_refuses_a_run_whose_checkpoint_runs_code(run_dir, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", "scene.json"):
        shutil.copy(run_dir / name, run / name)
    target = tmp_path / "pwned"
    malicious_checkpoint(run / "checkpoints" / "step_00000004.ckpt", open, target)
    code = main(["eval", "--run", str(run), "--lpips", "none", "--no-images", "--no-progress",
                 "--out", str(tmp_path / "eval")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    errors = [line for line in err.strip().splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "step_00000004.ckpt" in errors[0], err
    assert not target.exists(), "the pickle's code ran"
