"""Peak host memory of a render against the chunk size: the bytes per chunk point that CUDA chunking assumes.

    python benchmarks/render_memory.py [--chunks 65536,131072,262144] [--size 100]

Each chunk size renders in its own process (``jneusample bench --models neusample192 --train-steps 0``); a line
through (chunk points, peak MiB) gives the fixed part and ``BYTES_PER_CHUNK_POINT`` (jneusample/platform/backend.py).
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

import harness as h

SPEC = h.Spec("render_memory", __doc__)


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("--chunks", type=h.parse_list(int), default=[65536, 131072, 262144], help="chunk points")
    parser.add_argument("--size", type=int, default=100, help="image side in pixels")
    args = SPEC.parse(parser, argv)
    rows = []
    with h.Alone("render_memory", processes=1) as load, tempfile.TemporaryDirectory() as tmp:
        for chunk in args.chunks:
            out = Path(tmp) / f"bench_{chunk}.json"
            h.jneusample(["bench", "--models", "neusample192", "--height", str(args.size), "--width", str(args.size),
                          "--repeats", "1", "--bands", "1", "--train-steps", "0", "--chunk-points", str(chunk),
                          "--json", str(out), "--no-progress"])
            peak = json.loads(out.read_text())["peak_rss_mib_render"]
            rows.append({"chunk_points": chunk, "peak_rss_mib_render": peak})
    slope, intercept = np.polyfit([r["chunk_points"] for r in rows], [r["peak_rss_mib_render"] for r in rows], 1)
    summary = {"bytes_per_chunk_point": float(slope * 2**20), "fixed_mib": float(intercept)}
    SPEC.write(args, {"size": args.size, "model": "neusample192", "rows": rows, **summary,
                      "load_average": load.summary()})
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
