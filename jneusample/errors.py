"""The one exception type that reaches the user as a one-line message.

Code that validates user input (files, options, checkpoints) raises :class:`InputError` with a message that
names the file and the problem; the command-line entry point prints ``error: <message>`` and exits with
status 2, without a traceback. Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import os


class InputError(Exception):
    """Bad input from the user: a file, an option or a checkpoint that cannot be used as given."""


def describe_path(path: str | os.PathLike) -> str:
    """The path as the user should see it in an error message."""
    return os.fspath(path)
