"""``jneusample colmap2nerf``: a COLMAP sparse model → ``transforms.json`` (the work is :mod:`jneusample.data.colmap`)."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``colmap2nerf`` subcommand to an ``argparse`` subparsers object."""
    parser = subparsers.add_parser(
        "colmap2nerf",
        help="convert a COLMAP sparse model to a transforms.json for training",
        description="Convert a COLMAP sparse reconstruction (cameras, images and optionally points3D, as .txt "
                    "or .bin) into a transforms.json that 'jneusample train --data DIR' reads.",
    )
    parser.add_argument("--colmap", required=True, type=Path, metavar="DIR",
                        help="folder of the COLMAP sparse model (cameras.txt, images.txt, points3D.txt or the "
                             ".bin files), e.g. sparse/0 or the output of 'colmap model_converter'")
    parser.add_argument("--images", required=True, type=Path, metavar="DIR",
                        help="folder the COLMAP image names are relative to (the --image_path given to COLMAP)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="output file (default: transforms.json next to the --images folder); image paths "
                             "in it are written relative to its folder, which becomes the --data folder")
    parser.add_argument("--ndc", action="store_true",
                        help="mark the scene as forward-facing (all cameras look the same way, as LLFF): "
                             "training then uses LLFF's processing and NDC rays")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    """Convert, write atomically, print a summary; InputError on bad input. Returns the exit status 0."""
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..data.colmap import convert
    from ..platform.fileio import write_json

    out = Path(args.out) if args.out is not None else Path(args.images).resolve().parent / "transforms.json"
    meta = convert(Path(args.colmap), Path(args.images), out, ndc=args.ndc)
    write_json(out, meta)
    if "near" in meta:
        bounds = f", near {meta['near']:.4g}, far {meta['far']:.4g}"
    else:
        bounds = " (no 3D points: near/far will be estimated from the cameras)"
    print(f"wrote {out}: {len(meta['frames'])} frames, camera {meta['w']}x{meta['h']} fl_x {meta['fl_x']:.2f}"
          f"{bounds}; train with: jneusample train --data {out.resolve().parent}")
    return 0
