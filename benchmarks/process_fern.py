"""Does ``jneusample process`` find fern's cameras? Registration and pose accuracy against LLFF's poses.

    python benchmarks/process_fern.py                     # → benchmarks/results/process_fern.json
    python benchmarks/process_fern.py --train-minutes 20  # and the 20-minute training comparison

``jneusample process --images fern/images_8`` (20 photos, 504x378) into a temporary folder; its COLMAP camera
centres are aligned to those of ``poses_bounds.npy`` by a similarity (Umeyama, :mod:`jneusample.data.align`).
Left: centre errors as a share of the LLFF centres' spread (RMS radius) and angles between viewing directions
(minus the third column of either camera-to-world matrix). Targets: ≥ 19 of 20 registered, mean centre error
≤ 5 %, directions within 2°.

``--train-minutes M``: then the processed scene is kept (in ``--out``) and trained with the ``cpu`` preset for M
minutes, and so is fern on its LLFF poses (``images_8``, factor 8, the same preset and minutes), each alone on
the machine; both are evaluated on their held-out views (every 8th image by name: the same 3 photos when all 20
register). Target: the processed scene's test PSNR within 1 dB of the LLFF poses' (or above).
"""
from __future__ import annotations

import shutil
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

SPEC = h.Spec("process_fern", __doc__, out="/tmp/process_fern")
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


def train_both(processed: Path, out: Path, minutes: float) -> dict:
    """The ``cpu`` preset for ``minutes`` on the processed scene and on fern's LLFF poses; each run's steps, test
    PSNR/SSIM and held-out photos, and the PSNR difference (processed minus LLFF)."""
    runs = {}
    for name, data, factor in (("processed", processed, 1), ("llff", FERN, 8)):
        run_dir = out / f"{name}-cpu-{minutes:g}min"
        shutil.rmtree(run_dir, ignore_errors=True)  # a fresh run: the scene was processed anew
        command = ["train", "--data", str(data), "--preset", "cpu", "--factor", str(factor), "--no-progress",
                   "--max-minutes", f"{minutes:g}", "--out", str(run_dir)]
        record = h.trained(command, run_dir, f"fern {name} poses")
        results = h.evaluated(run_dir, skip=1)
        runs[name] = {**record, "test_psnr": results["psnr"], "test_ssim": results["ssim"],
                      "test_views": [Path(r["name"]).stem for r in results["per_image"]],
                      "image_size": [results["height"], results["width"]]}
    return {"minutes": minutes, **runs, "same_test_views": runs["processed"]["test_views"] == runs["llff"]["test_views"],
            "psnr_difference_db": runs["processed"]["test_psnr"] - runs["llff"]["test_psnr"]}


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("--camera-model", default=ProcessOptions.camera_model)
    parser.add_argument("--train-minutes", type=float, default=0.0,
                        help="also train the processed scene and the LLFF poses this long each (0: no training)")
    args = SPEC.parse(parser, argv)
    h.need(FERN / "images_8")
    reference = llff_cameras(FERN)
    with tempfile.TemporaryDirectory() as tmp, h.Alone("process") as load:
        processed = (Path(args.out) if args.train_minutes else Path(tmp)) / "fern-processed"
        if processed.exists():
            shutil.rmtree(processed)
        began = time.monotonic()
        summary = process(processed, images=FERN / "images_8", options=ProcessOptions(camera_model=args.camera_model))
        seconds = time.monotonic() - began
        ours = colmap_cameras(processed / "colmap" / "undistorted")
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
    if args.train_minutes:
        payload["training"] = training = train_both(processed, Path(args.out), args.train_minutes)
        payload["targets"]["processed_psnr_at_least_llff_minus_db"] = 1.0
        payload["targets_met"] = bool(payload["targets_met"] and training["psnr_difference_db"] >= -1.0)
    path = SPEC.write(args, payload)
    print(f"{payload['registered']}/{payload['total']} registered, centre error mean "
          f"{100 * errors['centre_error_mean']:.2f} % of the spread (max {100 * errors['centre_error_max']:.2f} %), "
          f"direction error mean {errors['direction_error_mean_deg']:.3f}° max {errors['direction_error_max_deg']:.3f}°, "
          f"{seconds:.1f} s → {path}")
    if args.train_minutes:
        print(f"{args.train_minutes:g} min cpu preset, test PSNR: processed {training['processed']['test_psnr']:.2f} dB, "
              f"LLFF poses {training['llff']['test_psnr']:.2f} dB ({training['psnr_difference_db']:+.2f} dB)")
    return 0 if payload["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
