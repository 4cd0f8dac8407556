"""The ffmpeg video writer: odd frame sizes, atomic replacement, nothing half-written on failure."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from jneusample.outputs.video import VideoWriter, even_pad, probe_frames

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                  reason="needs ffmpeg and ffprobe (apt-get install ffmpeg)")


def test_even_pad_repeats_the_edge():
    frame = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    padded = even_pad(frame)
    assert padded.shape == (6, 8, 3)
    assert np.array_equal(padded[:5, :7], frame)
    assert np.array_equal(padded[5, :7], frame[4]) and np.array_equal(padded[:5, 7], frame[:, 6])
    even = np.zeros((4, 6, 3), np.uint8)
    assert even_pad(even) is even


@needs_ffmpeg
def test_odd_size_video(tmp_path):
    out = tmp_path / "odd.mp4"
    rng = np.random.default_rng(0)
    with VideoWriter(out, width=7, height=5, fps=10) as writer:
        for _ in range(4):
            writer.write(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8))
    assert probe_frames(out) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["odd.mp4"]


@needs_ffmpeg
def test_failure_keeps_the_old_file(tmp_path):
    out = tmp_path / "v.mp4"
    out.write_bytes(b"previous video")
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(out, width=8, height=8) as writer:
            writer.write(np.zeros((8, 8, 3), np.uint8))
            raise RuntimeError("boom")
    assert out.read_bytes() == b"previous video"
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]  # no temporary file left behind


@needs_ffmpeg
def test_wrong_frame_shape(tmp_path):
    with VideoWriter(tmp_path / "v.mp4", width=8, height=8) as writer:
        with pytest.raises(ValueError, match="expected"):
            writer.write(np.zeros((8, 9, 3), np.uint8))
        writer.write(np.zeros((8, 8, 3), np.uint8))
    assert probe_frames(tmp_path / "v.mp4") == 1
