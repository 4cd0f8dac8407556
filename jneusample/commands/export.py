"""``jneusample export``: depth maps, a coloured point cloud or a mesh of a trained run (:mod:`jneusample.outputs.export`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_samples_option, interruptible, samples_suffix


def register(subparsers) -> argparse.ArgumentParser:
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..outputs.export import DEFAULT_LEVEL, DEFAULT_MIN_OPACITY, DEFAULT_RESOLUTION, MAX_RESOLUTION, NDC_FAR_Z

    parser = subparsers.add_parser(
        "export", help="export depth maps, a point cloud or a mesh of a trained run",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="depth: per view of a split, the ray distance (camera centre to surface along the pixel's "
                    "ray) and the z-depth (along the optical axis) as float32 .npy in scene units and 16-bit "
                    "PNG, their opacity, and depth.json with each PNG's scale, in a folder written completely or "
                    "not at all. pointcloud: a binary PLY of coloured world-space points from the training views' "
                    "depth. mesh: a binary PLY from marching cubes on a density grid, vertices coloured by the "
                    "radiance field. LLFF (NDC) runs are mapped back to the scene's world frame.")
    parser.add_argument("--run", required=True, help="run directory made by `jneusample train` or `extract`")
    parser.add_argument("--format", required=True, help="depth | pointcloud | mesh")
    parser.add_argument("--out", default=None,
                        help="depth: a folder (default RUN/export_depth_<split>); pointcloud, mesh: a .ply file "
                             "(default RUN/pointcloud.ply, RUN/mesh.ply)")
    parser.add_argument("--split", default=None,
                        help="views to export (depth; default test) or to take the points from (pointcloud; "
                             "default train)")
    parser.add_argument("--skip", type=int, default=1, help="every k-th view of the split (depth, pointcloud)")
    parser.add_argument("--min-opacity", type=float, default=DEFAULT_MIN_OPACITY,
                        help="pixels whose opacity (of all samples but the last, which stands for the "
                             "background) is at or below this have no depth and give no point")
    parser.add_argument("--resolution", type=int, default=DEFAULT_RESOLUTION,
                        help=f"mesh: grid points per axis, 2 to {MAX_RESOLUTION} (the grid is R³ float32)")
    parser.add_argument("--bounds", default=None, metavar="XMIN,YMIN,ZMIN,XMAX,YMAX,ZMAX",
                        help="mesh: the grid's box, in world coordinates (LLFF/NDC runs: in NDC, x and y in "
                             "[-1, 1], z in [-1, 1)); default: the cube the training cameras and near/far bounds "
                             f"imply (NDC: the whole view out to z = {NDC_FAR_Z})")
    parser.add_argument("--level", type=float, default=DEFAULT_LEVEL,
                        help="mesh: density threshold σ, per scene unit (per NDC unit for LLFF runs): the "
                             "opacity of a length δ is 1 - exp(-σ·δ); the error for a level with no surface gives "
                             "the grid's range")
    parser.add_argument("--factor", type=int, default=None, help="downscale factor (default: the run's)")
    parser.add_argument("--data", default=None, help="scene folder (default: the one the run was trained on)")
    parser.add_argument("--checkpoint", default="latest",
                        help="which checkpoint: latest, best, a step number, or a checkpoint file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_samples_option(parser)
    parser.set_defaults(func=run)
    return parser


def default_out(run_dir: str, fmt: str, split: str | None, samples: int | None) -> Path:
    """Where an export goes without ``--out``: RUN/export_depth_<split>, RUN/pointcloud.ply, RUN/mesh.ply
    (with an _nN suffix under ``--samples N``)."""
    suffix = samples_suffix(samples)
    if fmt == "depth":
        return Path(run_dir) / f"export_depth_{split or 'test'}{suffix}"
    return Path(run_dir) / f"{fmt}{suffix}.ply"


def run(args) -> int:
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..outputs.export import ExportOptions, check_format, check_options, export, parse_bounds
    from ..platform.fileio import dumps

    fmt = check_format(args.format)
    options = ExportOptions(
        format=fmt, out=Path(args.out) if args.out else default_out(args.run, fmt, args.split, args.samples),
        split=args.split, skip=args.skip, factor=args.factor, data=args.data, samples=args.samples,
        min_opacity=args.min_opacity, resolution=args.resolution,
        bounds=parse_bounds(args.bounds) if args.bounds is not None else None, level=args.level)
    check_options(options)  # bad options are one line before the run is loaded
    interruptible()  # Ctrl-C: one line and exit 130, the staged output removed (not Jittor's exit 1)
    print(dumps(export(args.run, options, checkpoint=args.checkpoint, progress=not args.no_progress)))
    return 0
