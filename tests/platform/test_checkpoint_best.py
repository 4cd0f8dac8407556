"""Validation PSNR per checkpoint: the val.json index, the best checkpoint, and pruning that keeps it."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from jneusample.platform.checkpoint import (best_checkpoint, list_checkpoints, load_checkpoint, read_val_index,
    save_checkpoint, val_index_path)
from jneusample.errors import InputError
from jneusample.platform.runs import checkpoint_choice, resolve_checkpoint


def state(step, val=None):
    out = {"step": step, "config": {}, "model": {"w": np.full(2, step, np.float32)}}
    if val is not None:
        out["val_psnr"] = val
    return out


def steps_on_disk(run):
    return [step for step, _ in list_checkpoints(run)]


def test_val_psnr_is_recorded_in_checkpoint_and_index(tmp_path):
    save_checkpoint(tmp_path, state(5, 12.5), keep=3)
    save_checkpoint(tmp_path, state(10), keep=3)  # not validated there: no entry
    assert read_val_index(tmp_path) == {5: 12.5}
    assert json.loads(val_index_path(tmp_path).read_text()) == {"5": 12.5}
    assert load_checkpoint(tmp_path / "checkpoints" / "step_00000005.ckpt")["val_psnr"] == 12.5
    assert "val_psnr" not in load_checkpoint(tmp_path / "checkpoints" / "step_00000010.ckpt")


def test_pruning_never_deletes_the_best_checkpoint(tmp_path):
    for step, val in [(1, 10.0), (2, 30.0), (3, 20.0), (4, 15.0), (5, 12.0)]:
        save_checkpoint(tmp_path, state(step, val), keep=2)
    assert steps_on_disk(tmp_path) == [2, 4, 5]  # the 2 newest + the best
    assert best_checkpoint(tmp_path)[:2] == (2, 30.0)
    save_checkpoint(tmp_path, state(6, 31.0), keep=2)  # a new best: the old best may go now
    assert steps_on_disk(tmp_path) == [5, 6]
    assert best_checkpoint(tmp_path)[:2] == (6, 31.0)


def test_best_ignores_pruned_and_null_entries_and_prefers_the_newest_tie(tmp_path):
    save_checkpoint(tmp_path, state(1, 20.0), keep=5)
    save_checkpoint(tmp_path, state(2, 20.0), keep=5)
    assert best_checkpoint(tmp_path)[0] == 2
    val_index_path(tmp_path).write_text('{"1": 20.0, "2": 20.0, "3": null, "9": 99.0}\n')  # 9: no file
    assert read_val_index(tmp_path) == {1: 20.0, 2: 20.0, 9: 99.0}
    assert best_checkpoint(tmp_path)[0] == 2


def test_unreadable_index_never_loses_the_best(tmp_path):
    save_checkpoint(tmp_path, state(1, 30.0), keep=1)
    val_index_path(tmp_path).write_text("{cut short")
    save_checkpoint(tmp_path, state(2), keep=1)  # best unknown: nothing is pruned
    assert steps_on_disk(tmp_path) == [1, 2]
    save_checkpoint(tmp_path, state(3, 5.0), keep=1)  # the index is rewritten from this entry
    assert read_val_index(tmp_path) == {3: 5.0}


@pytest.mark.parametrize("value, kind", [(None, "latest"), ("latest", "latest"), ("BEST", "best"), ("40", "step"),
                                         ("runs/x/step_00000040.ckpt", "file"), ("a.ckpt", "file")])
def test_checkpoint_choices(value, kind):
    assert checkpoint_choice(value) == kind


@pytest.mark.parametrize("value", ["newest", "-3", "4.5", ""])
def test_bad_checkpoint_choices_are_one_line(value):
    expected = re.escape("expected best | latest | a step number | a checkpoint file")
    with pytest.raises(InputError, match=expected) as info:
        checkpoint_choice(value)
    assert "\n" not in str(info.value)


def test_best_without_recorded_psnr_and_missing_step_are_one_line(tmp_path):
    save_checkpoint(tmp_path, state(4), keep=3)
    with pytest.raises(InputError, match="--checkpoint best needs a validation PSNR"):
        resolve_checkpoint(tmp_path, "best")
    with pytest.raises(InputError, match=r"no checkpoint at step 7 \(the run has: 4\)"):
        resolve_checkpoint(tmp_path, "7")
    assert resolve_checkpoint(tmp_path, "4") == ("step", tmp_path / "checkpoints" / "step_00000004.ckpt")
