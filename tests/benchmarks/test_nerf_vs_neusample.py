"""benchmarks/nerf_vs_neusample.py: its rows land in its own table of docs/benchmarks.md."""
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("nerf_vs_neusample", REPO / "benchmarks" / "nerf_vs_neusample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rows_go_into_the_section_table_and_other_sections_stay(tmp_path):
    bench = _module()
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Other\n\n| a |\n|---|\n| 1 |\n")
    bench.add_rows(docs, ["| r1 |"])
    bench.add_rows(docs, ["| r2 |", "| r3 |"])
    text = docs.read_text()
    assert text.count(bench.SECTION) == 1 and "| 1 |" in text
    table = text[text.index(bench.TABLE_HEADER):]
    assert table.split("\n")[2:5] == ["| r1 |", "| r2 |", "| r3 |"]
    # a section followed by more text keeps that text after the table
    docs.write_text(f"# B\n\n{bench.SECTION_TEXT}\n## Later\n\n| x |\n")
    bench.add_rows(docs, ["| r4 |"])
    text = docs.read_text()
    assert text.index("| r4 |") < text.index("## Later") and text.endswith("| x |\n")
