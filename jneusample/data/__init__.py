"""Scene loading: recognises the format of a folder and dispatches to its loader."""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .images import inside_scene
from .scene import Intrinsics, Scene, Views

DEMO_SCENE = Path(__file__).resolve().parent.parent / "assets" / "demo_scene"
"""The small Blender-format scene the project ships (made by scripts/make_demo_scene.py)."""


@dataclass(frozen=True)
class SceneFormat:
    """One scene format: how to recognise it and how to load it."""

    name: str
    """The format's name (``Scene.format``)."""
    marker: str
    """The file in the scene folder whose presence identifies the format."""
    files: tuple[str, ...]
    """The description files the format reads (they too must stay inside the scene folder)."""
    loader: str
    """``module:function`` in :mod:`jneusample.data` that loads it, called as
    ``function(root, factor=, testskip=, allow_outside=, n_render_frames=)`` (imported only when used); the
    loader builds the scene's video path (``Scene.render_path``) with that many frames."""

    def load(self, root: Path, factor: int, testskip: int, allow_outside: bool,
             render_frames: int | None = None) -> Scene:
        """Call the format's loader (no checks: :func:`load_scene` is the entry point)."""
        module, function = self.loader.split(":")
        load = getattr(importlib.import_module(f".{module}", __package__), function)
        extra = {"n_render_frames": render_frames} if render_frames else {}
        return load(root, factor=factor, testskip=testskip, allow_outside=allow_outside, **extra)


FORMATS: dict[str, SceneFormat] = {fmt.name: fmt for fmt in (
    SceneFormat("blender", "transforms_train.json",
                ("transforms_train.json", "transforms_val.json", "transforms_test.json"), "blender:load_blender"),
    SceneFormat("llff", "poses_bounds.npy", ("poses_bounds.npy",), "llff:load_llff"),
    SceneFormat("transforms", "transforms.json", ("transforms.json",), "transforms:load_transforms"),
)}
"""The scene formats, in the order detection tries their markers (a Blender folder may also hold a
transforms.json). Adding a format: its loader module and one entry here."""


def detect_format(root: Path) -> str:
    """The name of the format of the scene in ``root`` (a key of :data:`FORMATS`); a clear error otherwise."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise InputError(f"{root}: data folder is not a directory (give the scene's folder, not a file in it)")
    if not root.is_dir():
        raise InputError(f"{root}: data folder does not exist")
    for fmt in FORMATS.values():
        if (root / fmt.marker).exists():
            return fmt.name
    looked_for = ", ".join(f"{fmt.marker} ({fmt.name})" for fmt in FORMATS.values())
    raise InputError(f"{root}: unknown scene format: looked for {looked_for}")


def load_scene(root: str | Path | None = None, factor: int = 1, testskip: int = 1, quiet: bool = False,
               allow_outside: bool = False, render_frames: int | None = None) -> Scene:
    """Load the scene in ``root`` (default: the embedded demo scene), whatever its format.

    Every file the scene names (images, and the description files themselves when they are symlinks) must
    resolve inside ``root``; ``allow_outside`` (``--allow-outside-paths``) lifts that. ``render_frames``: frames
    of the scene's video path (default: the format's own).
    """
    root = Path(root) if root is not None else DEMO_SCENE
    fmt = FORMATS[detect_format(root)]
    if factor < 1:
        raise InputError(f"--factor must be a positive integer, got {factor}")
    for name in fmt.files:
        inside_scene(root, name, f"{root / name}", allow_outside)
    if not quiet:
        print(f"data: {root} ({fmt.name} format)", file=sys.stderr)
    return fmt.load(root, factor=factor, testskip=testskip, allow_outside=allow_outside, render_frames=render_frames)


__all__ = ["DEMO_SCENE", "FORMATS", "Intrinsics", "Scene", "SceneFormat", "Views", "detect_format", "load_scene"]
