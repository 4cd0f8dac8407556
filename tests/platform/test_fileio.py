"""fileio: atomic writes, disk full as one line, strict JSON, torn-free appends, staged output folders."""
import errno
import json
import math
import os

import numpy as np
import pytest

from diskfull import disk_full  # noqa: F401  (fixture)
from jneusample.platform import fileio
from jneusample.errors import InputError


def test_atomic_write_disk_full_is_one_line_and_keeps_the_old_file(tmp_path, disk_full):
    target = tmp_path / "out.json"
    fileio.write_json(target, {"a": 1})
    disk_full("out.json")
    with pytest.raises(InputError, match=r"^disk full: .*out\.json$"):
        fileio.write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temporary left


def test_strict_json_writes_null_for_non_finite_values(tmp_path):
    value = {"nan": float("nan"), "inf": math.inf, "np": np.float32("-inf"), "ok": [1.5, np.int64(2)], "t": (1,)}
    text = fileio.dumps(value)
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"nan": None, "inf": None, "np": None, "ok": [1.5, 2], "t": [1]}
    fileio.write_json(tmp_path / "r.json", value)
    assert fileio.read_json(tmp_path / "r.json")["inf"] is None
    (tmp_path / "bad.json").write_text('{"psnr": NaN}')
    with pytest.raises(InputError, match="not valid JSON"):
        fileio.read_json(tmp_path / "bad.json")


def test_append_line_cuts_a_failed_append_back(tmp_path, monkeypatch):
    log = tmp_path / "metrics.jsonl"
    fileio.append_line(log, '{"step": 1}')
    real_write = os.write

    def short_write(fd, data):
        real_write(fd, data[:3])  # a partial line, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", short_write)
    with pytest.raises(InputError, match="disk full: .*metrics.jsonl"):
        fileio.append_line(log, '{"step": 2}')
    monkeypatch.undo()
    assert log.read_text() == '{"step": 1}\n'


def test_staged_folder_appears_complete_or_not_at_all(tmp_path):
    final = tmp_path / "eval_test"
    with pytest.raises(RuntimeError):
        with fileio.staged_folder(final) as staging:
            (staging / "a.png").write_bytes(b"x")
            raise RuntimeError("cut short")
    assert list(tmp_path.iterdir()) == []
    with fileio.staged_folder(final) as staging:
        (staging / "a.png").write_bytes(b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval_test"]
    (final / "keep.txt").write_text("user file")
    with fileio.staged_folder(final) as staging:
        (staging / "a.png").write_bytes(b"y")
    assert (final / "a.png").read_bytes() == b"y" and (final / "keep.txt").exists()  # merged, nothing deleted


def test_writability_checks(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not writable"):
        fileio.check_writable_dir(tmp_path / "file" / "run")
    with pytest.raises(InputError, match="--json output is a directory"):
        fileio.check_writable_file(tmp_path, "--json output")
    fileio.check_writable_dir(tmp_path / "new" / "run")
    assert not (tmp_path / "new").exists()  # the check creates nothing


def test_temporary_file_is_beside_the_target_and_published_over_it(tmp_path):
    from jneusample.platform.fileio import publish_temporary, temporary_file

    target = tmp_path / "v.mp4"
    tmp = temporary_file(target, suffix=".partial")
    assert tmp.parent == tmp_path and tmp.name.startswith(".v.mp4.") and tmp.suffix == ".partial"
    tmp.write_bytes(b"video")
    publish_temporary(tmp, target)
    assert target.read_bytes() == b"video" and not tmp.exists()
    with pytest.raises(InputError, match=r"^.*missing.*: cannot write \("):
        temporary_file(tmp_path / "missing" / "v.mp4")


def test_only_fileio_renames_files_into_place():
    """Every atomic write goes through fileio (issue 25): no other module calls os.replace / os.rename, except
    process.py, which moves COLMAP's folders inside the staged folder that fileio.staged_folder publishes."""
    import re
    from pathlib import Path

    import jneusample

    package = Path(jneusample.__file__).parent
    allowed = {"platform/fileio.py", "data/process.py"}
    renaming = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                      if re.search(r"\bos\.(replace|rename)\(|\.rename\(", path.read_text(encoding="utf-8"))
                      and str(path.relative_to(package)) not in allowed)
    assert renaming == []
