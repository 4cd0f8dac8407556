"""Writing videos by streaming raw RGB frames to an ``ffmpeg`` process.

Frames go to ffmpeg's stdin one at a time, so memory does not grow with the number of frames. The video is
written to a hidden temporary file next to the target and renamed over it only when ffmpeg has finished
successfully: an interrupted or failed render never leaves a half-written video under the requested name.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .errors import InputError

INSTALL_HINT = "install it (e.g. `apt-get install ffmpeg`)"


def find_ffmpeg() -> str | None:
    """Path of the ``ffmpeg`` executable, or None when it is not installed."""
    return shutil.which("ffmpeg")


def require_ffmpeg() -> str:
    """Path of ``ffmpeg``; an :class:`InputError` with the install hint when it is missing."""
    path = find_ffmpeg()
    if path is None:
        raise InputError(f"ffmpeg not found on PATH: {INSTALL_HINT}, or pass --png-dir DIR to write PNG frames")
    return path


def even_pad(frame: np.ndarray) -> np.ndarray:
    """Pad an (H, W, 3) uint8 frame by repeating its last row/column so that H and W are even.

    H.264 with 4:2:0 chroma subsampling needs even dimensions.
    """
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class VideoWriter:
    """An H.264 MP4 written frame by frame through ffmpeg; atomic (temp file + rename on :meth:`close`).

    Use as a context manager: leaving the block normally finishes the video; leaving it with an exception
    stops ffmpeg and deletes the temporary file.

    Args:
        path: the ``.mp4`` to write (replaced atomically if it exists).
        width, height: frame size in pixels (frames must be (height, width, 3) uint8); odd sizes are padded.
        fps: frames per second.
        crf: x264 constant rate factor (lower = better quality, larger file; 18 is visually lossless).
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float = 30.0, crf: int = 18):
        self.path = Path(path)
        self.width, self.height = int(width), int(height)
        self.padded = (self.width + self.width % 2, self.height + self.height % 2)
        self.frames = 0
        ffmpeg = require_ffmpeg()
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        command = [
            ffmpeg, "-y", "-loglevel", "error", "-nostdin",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{self.padded[0]}x{self.padded[1]}", "-r", f"{fps:g}",
            "-i", "-",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", str(crf), "-movflags", "+faststart",
            "-f", "mp4", str(self.tmp),
        ]
        # stderr goes to a temporary file (not a pipe), so a chatty ffmpeg can never block on a full pipe.
        self._stderr = tempfile.TemporaryFile()
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=self._stderr)

    def write(self, frame: np.ndarray) -> None:
        """Append one (height, width, 3) uint8 frame."""
        frame = np.asarray(frame)
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame of shape {frame.shape} {frame.dtype}, expected "
                             f"({self.height}, {self.width}, 3) uint8")
        try:
            self._process.stdin.write(np.ascontiguousarray(even_pad(frame)).tobytes())
        except BrokenPipeError:
            self._fail("ffmpeg stopped reading frames")
        self.frames += 1

    def close(self) -> Path:
        """Finish the video and move it into place; returns its path."""
        self._process.stdin.close()
        if self._process.wait() != 0:
            self._fail(f"ffmpeg exited with status {self._process.returncode}")
        self._stderr.close()
        # mkstemp made the file private (0600); give the video the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o666 & ~umask)
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Stop ffmpeg and delete the temporary file (the target is left as it was)."""
        if self._process.poll() is None:
            try:
                self._process.stdin.close()
            except OSError:
                pass
            self._process.kill()
            self._process.wait()
        self._stderr.close()
        self.tmp.unlink(missing_ok=True)

    def _fail(self, what: str) -> None:
        self._process.poll()
        self._stderr.seek(0)
        detail = self._stderr.read().decode(errors="replace").strip().splitlines()
        self.abort()
        raise RuntimeError(f"{self.path}: {what}" + (f": {detail[-1]}" if detail else ""))

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def probe_frames(path: str | os.PathLike) -> int:
    """Number of video frames in ``path`` as ``ffprobe`` counts them (decoding the stream)."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        raise InputError(f"ffprobe not found on PATH: {INSTALL_HINT}")
    result = subprocess.run(
        [ffprobe, "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
         "stream=nb_read_frames", "-of", "default=nokey=1:noprint_wrappers=1", str(path)],
        capture_output=True, text=True, check=True,
    )
    return int(result.stdout.strip())
