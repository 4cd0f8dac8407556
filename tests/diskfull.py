"""A simulated full disk for tests: ``from diskfull import disk_full`` (a pytest fixture)."""
import errno
import os

import pytest


@pytest.fixture
def disk_full(monkeypatch):
    """``disk_full(match)``: from now on fsync fails with ENOSPC for files whose path contains ``match``.

    Every atomic write of the package fsyncs its temporary file before the rename, so this is where a real full
    disk would stop it too (the write itself may fail earlier on a real disk; the handling is the same)."""
    def arm(match: str = ""):
        real = os.fsync

        def fsync(fd):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                target = ""
            if match in target and os.path.isfile(target):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(fd)

        monkeypatch.setattr(os, "fsync", fsync)
    return arm
