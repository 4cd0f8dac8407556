"""What every benchmark script records next to its numbers: date, command, machine, load during the run.

Every number the README or docs quote comes from a JSON file under ``benchmarks/results/`` written through
:func:`write_result`, so a reader can see when, how and on what it was measured.
"""
from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
if str(REPO) not in sys.path:
    sys.path.insert(1, str(REPO))
from jneusample.platform.provenance import LoadMonitor, cpu_model, machine_info, run_record  # noqa: E402,F401


def strict(value: Any) -> Any:
    """``value`` with non-finite floats replaced by None, so the JSON is strict."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def write_result(name: str, payload: dict[str, Any], results_dir: Path | None = None) -> Path:
    """Write ``results_dir/name.json`` (default benchmarks/results/) with date, command and machine added."""
    record = {**run_record(), **payload}
    directory = Path(results_dir) if results_dir else RESULTS
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(strict(record), indent=1, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path
