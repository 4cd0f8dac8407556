"""Hostile files read back from a run directory: every command that reads a run gives one line naming the file.

``config.json``, ``scene.json`` and the checkpoints are edited by hand (or by another program, or cut short by a
full disk) after training; each command that reads them back (eval, render, export, placement, plot-samples,
train --resume, extract) must answer ``error: <file>: <problem>`` with exit 2, no traceback, nothing written.
The commands run in-process (``cli.main``): an exception other than the one-line error fails the test.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Callable

import pytest

from conftest import error_line
from jneusample.platform.checkpoint import list_checkpoints
from jneusample.cli import main


def _command_lines(run: Path, out: Path) -> dict[str, list[str]]:
    """Each reading command on ``run``, its outputs under ``out`` (none of them may appear)."""
    return {
        "eval": ["eval", "--run", str(run), "--lpips", "none", "--no-images", "--no-progress", "--out",
                 str(out / "eval")],
        "render": ["render", "--run", str(run), "--frames", "1", "--no-progress", "--out", str(out / "v.mp4")],
        "export": ["export", "--run", str(run), "--format", "depth", "--skip", "8", "--no-progress", "--out",
                   str(out / "depth")],
        "placement": ["placement", "--run", str(run), "--skip", "8", "--out", str(out / "placement.json")],
        "plot-samples": ["plot-samples", "--run", str(run), "--out", str(out / "samples.png")],
        "train --resume": ["train", "--out", str(run), "--resume", "--steps", "6", "--no-progress"],
        "extract": ["extract", "--run", str(run), "--samples", "3", "--steps", "2", "--no-progress", "--out",
                    str(out / "extracted")],
    }


READERS = tuple(_command_lines(Path("r"), Path("o")))
SCENE_READERS = tuple(name for name in READERS if name != "train --resume")
"""train --resume takes the scene from --data and writes scene.json anew: it does not read it."""


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    values = json.loads(path.read_text())
    change(values)
    path.write_text(json.dumps(values))


def _every_checkpoint(run: Path, data: Callable[[bytes], bytes]) -> Path:
    """Replace every checkpoint of ``run`` by ``data(its bytes)``; returns the newest (the one the error names)."""
    found = list_checkpoints(run)
    for _, path in found:
        path.write_bytes(data(path.read_bytes()))
    return found[-1][1]


class RunsCode:
    """Unpickling this calls ``os.system``: the allow-list must refuse the class before anything runs."""

    def __reduce__(self):
        return os.system, ("true",)


def _forbidden(_: bytes) -> bytes:
    return pickle.dumps({"format": "jneusample-checkpoint", "version": 1, "step": 4, "config": {},
                         "model": RunsCode()})


CONFIG_CASES = {
    "negative n_samples": (lambda c: c["model"].update(n_samples=-3), "model.n_samples must be >= 2"),
    "n_samples of the wrong type": (lambda c: c["model"].update(n_samples="many"), "model.n_samples expects a int"),
    "unknown key": (lambda c: c["model"].update(colour=1), "unknown config key 'model.colour'"),
    "unknown section": (lambda c: c.update(extras={}), "unknown config section 'extras'"),
    "preset of the wrong type": (lambda c: c.update(preset=[1]), "preset must be a preset's name, got [1]"),
}
SCENE_CASES = {
    "factor of the wrong type": (lambda s: s.update(factor="big"), "factor must be an integer, got 'big'"),
    "factor 0": (lambda s: s.update(factor=0), "factor must be a positive integer, got 0"),
    "missing data": (lambda s: s.pop("data"), "lacks 'data'"),
    "missing factor": (lambda s: s.pop("factor"), "lacks 'factor'"),
    "NUL byte in data": (lambda s: s.update(data=s["data"] + "\0x"), "without NUL bytes"),
}
CHECKPOINT_CASES = {
    "garbage bytes": (lambda data: bytes(range(256)) * 2, "not a readable JNeuSample checkpoint"),
    "truncated": (lambda data: data[: len(data) // 2], "not a readable JNeuSample checkpoint"),
    "forbidden class": (_forbidden, "refusing to load posix.system"),
}


@pytest.fixture
def hostile(run_dir, tmp_path):
    """A copy of the session's 4-step tiny run to damage, and an output folder."""
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    out = tmp_path / "out"
    out.mkdir()  # commands with a file output check its folder first; the run's files must be refused anyway
    return run, out


def _refused(argv: list[str], capsys, out: Path) -> str:
    """Run the command; it must exit 2 with one ``error:`` line, write no output, and return that line."""
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    line = error_line(err)
    assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())
    return line


@pytest.mark.parametrize("command", READERS)
@pytest.mark.parametrize("case", CONFIG_CASES)
def test_a_bad_config_json_is_one_line_naming_it(hostile, capsys, command, case):
    run, out = hostile
    change, problem = CONFIG_CASES[case]
    _edit_json(run / "config.json", change)
    line = _refused(_command_lines(run, out)[command], capsys, out)
    assert line.startswith(f"error: {run / 'config.json'}: ") and problem in line, line


@pytest.mark.parametrize("command", READERS)
@pytest.mark.parametrize("content, problem", [("{oops", "not valid JSON"), ("[1, 2]", "expected a JSON object")])
def test_a_config_json_that_is_not_a_json_object_is_one_line(hostile, capsys, command, content, problem):
    run, out = hostile
    (run / "config.json").write_text(content)
    line = _refused(_command_lines(run, out)[command], capsys, out)
    assert line.startswith(f"error: {run / 'config.json'}: ") and problem in line, line


@pytest.mark.parametrize("command", SCENE_READERS)
@pytest.mark.parametrize("case", SCENE_CASES)
def test_a_bad_scene_json_is_one_line_naming_it(hostile, capsys, command, case):
    run, out = hostile
    change, problem = SCENE_CASES[case]
    _edit_json(run / "scene.json", change)
    line = _refused(_command_lines(run, out)[command], capsys, out)
    assert line.startswith(f"error: {run / 'scene.json'}: ") and problem in line, line


@pytest.mark.parametrize("command", SCENE_READERS)
def test_a_scene_folder_that_no_longer_exists_is_one_line_naming_scene_json(hostile, capsys, command):
    run, out = hostile
    gone = run.parent / "moved-away"
    _edit_json(run / "scene.json", lambda s: s.update(data=str(gone)))
    line = _refused(_command_lines(run, out)[command], capsys, out)
    assert line == (f"error: {run / 'scene.json'}: the run's scene folder {gone} no longer exists (moved or "
                    "deleted?)" + ("" if command == "extract" else "; pass --data DIR to read the scene from "
                                   "where it is now")), line


@pytest.mark.parametrize("command", READERS)
@pytest.mark.parametrize("case", CHECKPOINT_CASES)
def test_a_bad_checkpoint_is_one_line_naming_it(hostile, capsys, command, case):
    run, out = hostile
    data, problem = CHECKPOINT_CASES[case]
    newest = _every_checkpoint(run, data)
    before = {path.name: path.read_bytes() for _, path in list_checkpoints(run)}
    line = _refused(_command_lines(run, out)[command], capsys, out)
    assert line.startswith(f"error: {run}: no checkpoint of the run loads (newest: {newest}: "), line
    assert problem in line, line
    assert {path.name: path.read_bytes() for _, path in list_checkpoints(run)} == before  # nothing pruned


def test_a_nul_byte_in_a_scene_file_path_is_one_line(tmp_path, capsys):
    from conftest import write_blender_scene

    scene = write_blender_scene(tmp_path / "scene", size=8)
    transforms = scene / "transforms_train.json"
    _edit_json(transforms, lambda t: t["frames"][1].update(file_path="./train/r_1\0.png"))
    code = main(["train", "--data", str(scene), "--preset", "tiny", "--steps", "1", "--out", str(tmp_path / "run"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert error_line(err) == (f"error: {transforms}: frame 1: path './train/r_1\\x00.png' holds a NUL byte, "
                               "which no file name can")
    assert not (tmp_path / "run" / "checkpoints").exists()
