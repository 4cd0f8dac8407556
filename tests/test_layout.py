"""The layout promises of docs/architecture.md, measured on the source: layers in folders, at most 12 modules at
the package root, no function over 80 lines, a trainer that reads in one screen, commands that only parse."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jneusample"


def function_lengths(path: Path) -> dict[str, int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name: node.end_lineno - node.lineno + 1 for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def test_at_most_twelve_modules_at_the_package_root():
    assert len(list(PACKAGE.glob("*.py"))) <= 12


def test_no_function_in_the_package_is_over_80_lines():
    long = {f"{path.relative_to(PACKAGE)}:{name}": lines for path in PACKAGE.rglob("*.py")
            for name, lines in function_lengths(path).items() if lines > 80}
    assert long == {}


def test_the_trainer_reads_in_one_screen():
    assert function_lengths(PACKAGE / "training" / "trainer.py")["train"] <= 60


def test_the_train_command_parses_and_calls_the_library():
    """Presets' scene policy lives in the library (training/request.py), so Python gets the CLI's run."""
    source = (PACKAGE / "commands" / "train.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 120
    assert "resolve_for_scene" not in source and "load_scene" not in source


def test_imports_inside_functions_say_why():
    """An import inside a function (Jittor must be configured first; a command checks its arguments before the
    library starts) carries a comment on its line or on the block of imports it belongs to."""
    silent = []
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)) and not _block_commented(lines, inner.lineno - 1):
                    silent.append(f"{path.relative_to(PACKAGE)}:{inner.lineno}")
    assert silent == []


def _block_commented(lines: list[str], index: int) -> bool:
    """Whether line ``index`` or a line of the contiguous import block above it has a comment."""
    while index >= 0:
        text = lines[index].strip()
        if text.startswith("#") or (text.startswith(("from ", "import ")) and "#" in text):
            return True
        if not (text.startswith(("from ", "import ")) or text == ""):
            return False
        index -= 1
    return False
