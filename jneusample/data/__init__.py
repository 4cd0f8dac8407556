"""Scene loading: recognises the format of a folder and dispatches to its loader."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError
from .scene import Intrinsics, Scene, Views

DEMO_SCENE = Path(__file__).resolve().parent.parent / "assets" / "demo_scene"
"""The small Blender-format scene the project ships (made by scripts/make_demo_scene.py)."""

FORMATS = (
    ("transforms_train.json", "blender"),
    ("poses_bounds.npy", "llff"),
    ("transforms.json", "transforms"),
)


def detect_format(root: Path) -> str:
    """'blender', 'llff' or 'transforms', from the files in ``root``; a clear error otherwise."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise InputError(f"{root}: data folder is not a directory (give the scene's folder, not a file in it)")
    if not root.is_dir():
        raise InputError(f"{root}: data folder does not exist")
    for marker, name in FORMATS:
        if (root / marker).exists():
            return name
    looked_for = ", ".join(f"{marker} ({name})" for marker, name in FORMATS)
    raise InputError(f"{root}: unknown scene format: looked for {looked_for}")


SCENE_FILES = {
    "blender": ("transforms_train.json", "transforms_val.json", "transforms_test.json"),
    "llff": ("poses_bounds.npy",),
    "transforms": ("transforms.json",),
}
"""The description files each format reads (they too must stay inside the scene folder)."""


def load_scene(root: str | Path | None = None, factor: int = 1, testskip: int = 1, quiet: bool = False,
               allow_outside: bool = False) -> Scene:
    """Load the scene in ``root`` (default: the embedded demo scene), whatever its format.

    Every file the scene names (images, and the description files themselves when they are symlinks) must
    resolve inside ``root``; ``allow_outside`` (``--allow-outside-paths``) lifts that.
    """
    from .images import inside_scene

    root = Path(root) if root is not None else DEMO_SCENE
    fmt = detect_format(root)
    if factor < 1:
        raise InputError(f"--factor must be a positive integer, got {factor}")
    for name in SCENE_FILES[fmt]:
        inside_scene(root, name, f"{root / name}", allow_outside)
    if not quiet:
        print(f"data: {root} ({fmt} format)", file=sys.stderr)
    if fmt == "blender":
        from .blender import load_blender

        return load_blender(root, factor=factor, testskip=testskip, allow_outside=allow_outside)
    if fmt == "llff":
        from .llff import load_llff

        return load_llff(root, factor=factor, testskip=testskip, allow_outside=allow_outside)
    from .transforms import load_transforms

    return load_transforms(root, factor=factor, testskip=testskip, allow_outside=allow_outside)


__all__ = ["DEMO_SCENE", "Intrinsics", "Scene", "Views", "detect_format", "load_scene"]
