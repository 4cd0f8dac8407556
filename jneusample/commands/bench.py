"""``jneusample bench``: the inference-cost benchmark of :mod:`jneusample.evaluation.benchmark` (NeRF vs NeuSample)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..evaluation.benchmark import DEFAULT_MODELS, parse_models
from ..errors import InputError
from ..platform.fileio import check_writable_dir

MAX_SIDE = 8192


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench", help="inference cost of NeRF and NeuSample (time, points/s, FLOPs)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Render one image with each model (paper-width networks, random weights) in one process; "
                    "report median seconds per image, rays/s, points/s, MLP GFLOP/s, cost relative to NeRF, the "
                    "sgemm ceiling and peak host memory. nerf = 64 coarse + 128 importance samples (64 + 192 "
                    "MLP points per ray); neusampleN = NeuSample with N samples; quantileN = NeuSample with the "
                    "any-N quantile head rendering N samples.")
    parser.add_argument("--height", type=int, default=100, help="image height in pixels (800 = Blender full size)")
    parser.add_argument("--width", type=int, default=100, help="image width in pixels")
    parser.add_argument("--models", default=DEFAULT_MODELS,
                        help="comma-separated: nerf, neusampleN and/or quantileN (N = samples per ray, e.g. "
                             "neusample192, quantile64)")
    parser.add_argument("--repeats", type=int, default=3, help="timed renders per model (after one warm-up)")
    parser.add_argument("--bands", type=int, default=8,
                        help="portions (of whole chunks) per image that the models take turns on "
                             "(1 = whole images in turn)")
    parser.add_argument("--chunk-points", type=int, default=None,
                        help="MLP points per render chunk (default: the paper preset's render.chunk_points on the "
                             "CPU, from free device memory on CUDA)")
    parser.add_argument("--train-steps", type=int, default=2,
                        help="timed training steps per model (after one warm-up step); 0 skips training")
    parser.add_argument("--train-rays", type=int, default=256, help="rays per training step")
    parser.add_argument("--json", dest="json_out", default=None, metavar="OUT.json", help="write the results here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def check_args(args) -> list[str]:
    """One-line errors for bad option values; returns the model names."""
    for option, value in (("--height", args.height), ("--width", args.width)):
        if not 1 <= value <= MAX_SIDE:
            raise InputError(f"{option} {value}: expected an image size between 1 and {MAX_SIDE} pixels")
    if args.repeats < 1:
        raise InputError(f"--repeats {args.repeats}: expected at least 1 timed render per model")
    if args.bands < 1:
        raise InputError(f"--bands {args.bands}: expected at least 1 band per image")
    if args.chunk_points is not None and args.chunk_points < 1:
        raise InputError(f"--chunk-points {args.chunk_points}: expected a positive number of points")
    if args.train_steps < 0:
        raise InputError(f"--train-steps {args.train_steps}: expected 0 or more")
    if args.train_rays < 1:
        raise InputError(f"--train-rays {args.train_rays}: expected at least 1 ray")
    if args.json_out:
        if Path(args.json_out).is_dir():
            raise InputError(f"--json {args.json_out}: is a folder; expected a file name such as bench.json")
        check_writable_dir(Path(args.json_out).resolve().parent)
    return parse_models(args.models)


def run(args) -> int:
    """Run the benchmark, write ``--json``, print the summary table."""
    names = check_args(args)
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..config import preset
    from ..evaluation.benchmark import run_bench, summary_table
    from ..platform import backend
    from ..platform.fileio import atomic_write_text, dumps
    from ..platform.provenance import LoadMonitor, run_record

    # CPU: the paper preset's chunk; CUDA: sized from free device memory (backend.render_chunk_points)
    chunk_points = args.chunk_points or backend.render_chunk_points(preset("paper").render.chunk_points)
    record = run_record()
    with LoadMonitor() as load:
        results = run_bench(names, args.height, args.width, args.repeats, chunk_points, args.train_steps,
                            args.train_rays, progress=not args.no_progress, bands=args.bands)
    results = {**record, "load_average": load.summary(), **results, "tf32": backend.TF32}
    text = dumps(results, indent=2) + "\n"  # strict JSON: a non-finite number is written as null
    if args.json_out:
        atomic_write_text(Path(args.json_out), text)
    print(summary_table(results))
    return 0
