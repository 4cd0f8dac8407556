"""Every number in README.md's result tables comes from a JSON file under benchmarks/results/.

Marker format: each data row of a table in the README's "## Results" section (its ### subsections included) ends
with an HTML comment naming the file and the keys its numbers come from (invisible on GitHub: an extra trailing
cell is ignored)::

    | lego x8, cpu preset | 19.76 | 0.711 | 0.327 | <!-- benchmarks/results/lego_cpu.json:models.trained psnr ssim lpips_vgg -->

``benchmarks/results/FILE.json:BASE FIELD ...``: BASE is a dotted path into the JSON (list items by index, e.g.
``runs.0``; empty for the root). Each FIELD, a dotted path relative to BASE, is matched in order with the numbers of
the row's cells after the first (the first cell is the row's label); ``-`` skips a number that is a label, such as
the 192 of "N=192: 0.756". Without FIELDs, BASE itself must be a number and the row must show exactly one.

Numbers are what the table shows: code spans, ISO dates and digits glued to letters (x8, 800x800, n64) are not
numbers. A shown number with d decimals matches a JSON value that rounds to it at d decimals; a suffix scales it:
``24.8k`` ↔ 24800 (k = 1e3, M = 1e6), ``95 %`` ↔ 0.95 (the JSON holds the fraction).

Rows listed in ``UNMARKED_ROWS`` (by their first cell) may have no marker yet; every other row must have one.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]

UNMARKED_ROWS: list[str] = []
"""First cells of Results rows allowed to lack a marker for now. Empty it: then every row needs one."""

MARKER = re.compile(r"<!--\s*(benchmarks/results/[^\s:]+\.json):(\S*)((?:\s+[^\s>]+)*?)\s*-->")
NUMBER = re.compile(r"(?<![\w.])(-?\d+(?:,\d{3})*(?:\.\d+)?)(?:\s?(k|M|%)(?![A-Za-z]))?(?!\w|\.\d)")
SCALE = {None: 1.0, "k": 1e3, "M": 1e6, "%": 0.01}


@dataclass
class Row:
    line_number: int
    label: str
    cells: list[str]
    marker: re.Match | None


def results_rows(text: str) -> list[Row]:
    """Data rows of every table between '## Results' and the next level-2 heading (header/separator skipped)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "## Results"), None)
    if start is None:
        return []
    rows = []
    previous_was_table = False
    for i in range(start + 1, len(lines)):
        line = lines[i].strip()
        if line.startswith("## "):
            break
        is_table = line.startswith("|")
        is_header = is_table and not previous_was_table
        is_separator = is_table and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", line) is not None
        previous_was_table = is_table
        if not is_table or is_header or is_separator:
            continue
        marker = MARKER.search(line)
        body = MARKER.sub("", line).strip()
        cells = [cell.strip() for cell in body.strip("|").split("|")]
        rows.append(Row(i + 1, cells[0], cells[1:], marker))
    return rows


def shown_numbers(cells: list[str]) -> list[tuple[float, int, str | None, str]]:
    """(value, decimals, suffix, text) of every number the cells show, left to right."""
    found = []
    for cell in cells:
        cell = re.sub(r"`[^`]*`", " ", cell)  # names, paths, commands
        cell = re.sub(r"\b\d{4}-\d{2}-\d{2}\b", " ", cell)  # dates
        cell = cell.replace("*", "")  # bold
        for match in NUMBER.finditer(cell):
            digits = match.group(1).replace(",", "")
            decimals = len(digits.split(".")[1]) if "." in digits else 0
            found.append((float(digits), decimals, match.group(2), match.group(0)))
    return found


def lookup(data: Any, path: str) -> Any:
    """``data`` at a dotted path (list items by index); KeyError naming the missing part."""
    for part in [p for p in path.split(".") if p]:
        if isinstance(data, list) and part.lstrip("-").isdigit():
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            raise KeyError(part)
    return data


def matches(shown: float, decimals: int, suffix: str | None, value: Any) -> bool:
    """True when ``value`` from the JSON, scaled by the suffix, rounds to ``shown`` at ``decimals``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return abs(value / SCALE[suffix] - shown) <= 0.5 * 10.0 ** -decimals + 1e-9 * max(1.0, abs(shown))


def check_row(row: Row, root: Path) -> list[str]:
    """Problems of one marked row (empty when every number matches its file)."""
    where = f"README.md:{row.line_number} ({row.label})"
    file, base, fields = row.marker.group(1), row.marker.group(2), row.marker.group(3).split()
    path = root / file
    if not path.is_file():
        return [f"{where}: {file} does not exist"]
    try:
        data = lookup(json.loads(path.read_text()), base)
    except KeyError as exc:
        return [f"{where}: {file} has no key {exc} (in {base!r})"]
    except ValueError as exc:
        return [f"{where}: {file} is not valid JSON ({exc})"]
    numbers = shown_numbers(row.cells)
    if not fields:
        fields = [""]
    if len(fields) != len(numbers):
        return [f"{where}: the marker names {len(fields)} value(s) but the row shows {len(numbers)}: "
                f"{[text for *_, text in numbers]}"]
    problems = []
    for field, (shown, decimals, suffix, text) in zip(fields, numbers):
        if field == "-":
            continue
        key = ".".join(p for p in (base, field) if p)
        try:
            value = lookup(data, field)
        except KeyError as exc:
            problems.append(f"{where}: {file} has no key {exc} (in {key!r})")
            continue
        if not matches(shown, decimals, suffix, value):
            problems.append(f"{where}: shows {text!r} but {file}:{key} is {value!r}")
    return problems


def check_readme(text: str, root: Path, allowed: list[str]) -> list[str]:
    """All problems of the README's Results tables (see the module docstring)."""
    rows = results_rows(text)
    problems = []
    labels = {row.label for row in rows}
    for row in rows:
        if row.marker is not None:
            problems += check_row(row, root)
        elif row.label not in allowed:
            problems.append(f"README.md:{row.line_number} ({row.label}): no <!-- benchmarks/results/... --> "
                            "marker saying which file its numbers come from")
    problems += [f"UNMARKED_ROWS lists {label!r}, which is no row of the Results tables any more"
                 for label in allowed if label not in labels]
    return problems


def test_readme_result_tables_match_benchmarks_results():
    problems = check_readme((REPO / "README.md").read_text(encoding="utf-8"), REPO, UNMARKED_ROWS)
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------------- the checker checks itself

SAMPLE = """# X

## Results

| what | number |
|---|---|
| render cost, N=192 and N=64 | N=192: **0.756**, N=64: **0.250** | <!-- benchmarks/results/bench.json:models - neusample192.inf_cost - neusample64.inf_cost -->
| peak memory, 800x800 | 1134 MiB | <!-- benchmarks/results/bench.json:peak_rss_mib -->
| training rate | 24.8k points/s = 95 % | <!-- benchmarks/results/bench.json: train.points train.fraction -->

### Pretrained

| run | steps | PSNR |
|---|---|---|
| `pretrained/demo` | 500 | 16.07 | <!-- benchmarks/results/runs.json:runs.0 steps psnr -->
| `pretrained/lego-x8` | 862 | 19.76 |

## Data

| not | checked |
|---|---|
| 1 | 2 |
"""


def write_results(root: Path, bench: dict, runs: dict) -> None:
    (root / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (root / "benchmarks" / "results" / "bench.json").write_text(json.dumps(bench))
    (root / "benchmarks" / "results" / "runs.json").write_text(json.dumps(runs))


BENCH = {"models": {"neusample192": {"inf_cost": 0.75612}, "neusample64": {"inf_cost": 0.2504}},
         "peak_rss_mib": 1133.7, "train": {"points": 24812.0, "fraction": 0.951}}
RUNS = {"runs": [{"steps": 500, "psnr": 16.0712}]}


def test_checker_accepts_matching_numbers(tmp_path):
    write_results(tmp_path, BENCH, RUNS)
    assert check_readme(SAMPLE, tmp_path, ["`pretrained/lego-x8`"]) == []


def test_checker_finds_every_kind_of_problem(tmp_path):
    bench = json.loads(json.dumps(BENCH))
    bench["models"]["neusample64"]["inf_cost"] = 0.26  # the README says 0.250
    del bench["train"]["fraction"]
    write_results(tmp_path, bench, RUNS)
    problems = "\n".join(check_readme(SAMPLE, tmp_path, ["`pretrained/gone`"]))
    assert "shows '0.250' but benchmarks/results/bench.json:models.neusample64.inf_cost is 0.26" in problems
    assert "has no key 'fraction'" in problems
    assert "(`pretrained/lego-x8`): no <!-- benchmarks/results/... --> marker" in problems
    assert "UNMARKED_ROWS lists '`pretrained/gone`'" in problems
    assert "| 1 | 2 |" not in problems and "Data" not in problems  # other sections are not checked
    (tmp_path / "benchmarks" / "results" / "runs.json").unlink()
    assert "runs.json does not exist" in "\n".join(check_readme(SAMPLE, tmp_path, ["`pretrained/lego-x8`"]))


@pytest.mark.parametrize("cell, expected", [
    ("N=192: **0.756**", [192.0, 0.756]),
    ("lego x8, 800x800, `n64`, 2026-11-29", []),
    ("24.8k points/s = 95 %", [24.8, 95.0]),
    ("19.76 dB / SSIM 0.711 / LPIPS-vgg 0.327", [19.76, 0.711, 0.327]),
    ("24,800 points/s", [24800.0]),
])
def test_numbers_as_shown(cell, expected):
    assert [value for value, *_ in shown_numbers([cell])] == expected
