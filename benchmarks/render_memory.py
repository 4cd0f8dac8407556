#!/usr/bin/env python3
"""Peak host memory of a render against the chunk size: the bytes per chunk point that CUDA chunking assumes.

    python benchmarks/render_memory.py [--chunks 65536,131072,262144] [--size 100]

Each chunk size renders in its own process (``jneusample bench --models neusample192 --train-steps 0``, paper
widths, N = 192), so each peak resident memory is that render's alone. A least-squares line through
(chunk points, peak MiB) gives the fixed part and the bytes per chunk point
(``jneusample/platform/backend.py: BYTES_PER_CHUNK_POINT``). Writes ``benchmarks/results/render_memory.json``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, LoadMonitor, write_result  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", default="65536,131072,262144", help="comma-separated chunk sizes (points)")
    parser.add_argument("--size", type=int, default=100, help="image side in pixels")
    args = parser.parse_args()
    chunks = [int(c) for c in args.chunks.split(",")]
    rows = []
    with LoadMonitor() as load, tempfile.TemporaryDirectory() as tmp:
        for chunk in chunks:
            out = Path(tmp) / f"bench_{chunk}.json"
            subprocess.run([sys.executable, "-m", "jneusample", "bench", "--models", "neusample192", "--height",
                            str(args.size), "--width", str(args.size), "--repeats", "1", "--bands", "1",
                            "--train-steps", "0", "--chunk-points", str(chunk), "--json", str(out),
                            "--no-progress"], check=True, cwd=REPO)
            result = json.loads(out.read_text())
            rows.append({"chunk_points": chunk, "peak_rss_mib_render": result["peak_rss_mib_render"]})
            print(rows[-1], flush=True)
    x = np.array([r["chunk_points"] for r in rows], dtype=np.float64)
    y = np.array([r["peak_rss_mib_render"] for r in rows], dtype=np.float64)
    slope, intercept = np.polyfit(x, y, 1)
    summary = {"bytes_per_chunk_point": float(slope * 2**20), "fixed_mib": float(intercept)}
    path = write_result("render_memory", {"size": args.size, "model": "neusample192", "rows": rows, **summary,
                                          "load_average": load.summary()})
    print(json.dumps(summary), f"-> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
