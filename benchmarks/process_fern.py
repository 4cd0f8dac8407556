"""Does ``jneusample process`` find fern's cameras? Registration and pose accuracy against LLFF's poses.

    python benchmarks/process_fern.py            # → benchmarks/results/process_fern.json

``jneusample process --images fern/images_8`` (20 photos, 504x378) into a temporary folder; its COLMAP camera
centres are aligned to those of ``poses_bounds.npy`` by a similarity (Umeyama, :mod:`jneusample.data.align`).
Left: centre errors as a share of the LLFF centres' spread (RMS radius) and angles between viewing directions
(minus the third column of either camera-to-world matrix). Targets: ≥ 19 of 20 registered, mean centre error
≤ 5 %, directions within 2°.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import harness as h

from jneusample.data.align import pose_errors  # noqa: E402
from jneusample.data.colmap import colmap_to_c2w, read_model  # noqa: E402
from jneusample.data.llff import read_poses_bounds  # noqa: E402
from jneusample.data.process import ProcessOptions, process  # noqa: E402

SPEC = h.Spec("process_fern", __doc__)
FERN = h.SCENES["fern"][0]


def llff_cameras(scene: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{image name: (centre (3,), viewing direction (3,))} from ``poses_bounds.npy`` (rows in file-name order
    of the full-size images, which the ``images_8`` copies share)."""
    poses, _, _ = read_poses_bounds(scene / "poses_bounds.npy")
    names = sorted(p.name for p in (scene / "images_8").iterdir() if p.suffix.lower() in (".png", ".jpg"))
    if len(names) != len(poses):
        raise SystemExit(f"{scene}: {len(names)} images but {len(poses)} poses")
    return {name: (pose[:, 3], -pose[:, 2]) for name, pose in zip(names, poses)}


def colmap_cameras(model: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{image name: (centre, viewing direction)} of a COLMAP model, through the project's own conversion."""
    _, images, _ = read_model(model)
    cameras = {}
    for image in images.values():
        c2w = colmap_to_c2w(image.qvec, image.tvec)
        cameras[image.name] = (c2w[:3, 3], -c2w[:3, 2])
    return cameras


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("--camera-model", default=ProcessOptions.camera_model)
    args = SPEC.parse(parser, argv)
    h.need(FERN / "images_8")
    reference = llff_cameras(FERN)
    with tempfile.TemporaryDirectory() as tmp, h.Alone("process") as load:
        began = time.monotonic()
        summary = process(Path(tmp) / "fern", images=FERN / "images_8",
                          options=ProcessOptions(camera_model=args.camera_model))
        seconds = time.monotonic() - began
        ours = colmap_cameras(Path(tmp) / "fern" / "colmap" / "undistorted")
    names = sorted(set(ours) & set(reference))
    errors = pose_errors(np.array([ours[n][0] for n in names]), np.array([ours[n][1] for n in names]),
                         np.array([reference[n][0] for n in names]), np.array([reference[n][1] for n in names]))
    payload = {
        "scene": "fern images_8 (20 photos, 504x378)",
        "command": f"jneusample process --images {FERN / 'images_8'} --out TMP --camera-model {args.camera_model}",
        "registered": summary["registered"], "total": summary["total"], "not_registered": summary["not_registered"],
        "centre_error_mean_share_of_spread": errors["centre_error_mean"],
        "centre_error_max_share_of_spread": errors["centre_error_max"],
        "direction_error_mean_deg": errors["direction_error_mean_deg"],
        "direction_error_max_deg": errors["direction_error_max_deg"],
        "alignment_scale": errors["scale"], "llff_centre_spread": errors["reference_spread"],
        "spread_meaning": "root-mean-square distance of the LLFF camera centres from their mean",
        "camera": summary["camera"], "distortion_removed": summary["distortion_removed"], "ndc": summary["ndc"],
        "seconds": round(seconds, 1), "seconds_by_stage": {k: round(v, 2) for k, v in summary["seconds"].items()},
        "load_average": load.summary(),
        "targets": {"registered_at_least": 19, "centre_error_mean_at_most": 0.05, "direction_error_max_deg_at_most": 2.0},
    }
    payload["targets_met"] = bool(payload["registered"] >= 19 and errors["centre_error_mean"] <= 0.05
                                  and errors["direction_error_max_deg"] <= 2.0)
    path = SPEC.write(args, payload)
    print(f"{payload['registered']}/{payload['total']} registered, centre error mean "
          f"{100 * errors['centre_error_mean']:.2f} % of the spread (max {100 * errors['centre_error_max']:.2f} %), "
          f"direction error mean {errors['direction_error_mean_deg']:.3f}° max {errors['direction_error_max_deg']:.3f}°, "
          f"{seconds:.1f} s → {path}")
    return 0 if payload["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
