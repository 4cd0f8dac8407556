"""Evaluate a run: render a split, compute metrics per image, time the renders, write a report."""
from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..platform import backend, fileio
from ..platform.backend import jt
from ..data import load_scene
from ..errors import InputError
from ..rendering import render_image, render_settings
from ..platform.runs import LoadedRun, load_run, read_scene_info, scene_folder
from ..outputs.visuals import depth_to_image, error_to_image, png_bytes, to_uint8
from .metrics import image_metrics as compute
from ..platform.distributed import gather_objects, shard


@dataclass
class EvalOptions:
    split: str = "test"
    """Which split to render."""
    skip: int = 1
    """Render every k-th view of the split."""
    factor: int | None = None
    """Downscale factor (default: the run's)."""
    lpips_nets: tuple[str, ...] = ("vgg", "alex")
    """LPIPS backbones to compute ('vgg', 'alex'); empty for none."""
    save_images: bool = True
    """Write rgb / depth / error PNGs per view."""
    data: str | None = None
    """Scene folder (default: the one the run was trained on)."""
    out_dir: Path | None = None
    """Report folder (default: RUN_DIR/eval_<split>)."""
    views: list[int] = field(default_factory=list)
    """Explicit view indices (after skip); empty for all."""
    samples: int | None = None
    """Render with this many samples per ray (runs whose model renders at any N); None: the run's N."""


def image_metrics(prediction: np.ndarray, target: np.ndarray, lpips_nets: tuple[str, ...]) -> dict[str, float]:
    """PSNR on the float prediction; SSIM and LPIPS as docs/protocol.md describes."""
    return compute(prediction, target, lpips_nets=lpips_nets)


def timed_render(model, scene, c2w, settings, chunk_points):
    """Render one view and return (outputs, seconds); the clock stops after everything is synchronised."""
    jt.sync_all(True)
    start = time.perf_counter()
    outputs = render_image(model, scene, c2w, settings, chunk_points)
    jt.sync_all(True)
    return outputs, time.perf_counter() - start


def evaluate_run(run: LoadedRun, options: EvalOptions, progress: bool = True) -> dict[str, Any]:
    """Render ``options.split`` of the run's scene and return (and write) the results."""
    config = run.config
    info = read_scene_info(run.run_dir)
    factor = options.factor or info.factor
    data = scene_folder(run.run_dir, info, options.data)
    scene = load_scene(data, factor=factor, testskip=1, allow_outside=info.allow_outside_paths)
    views = scene.split(options.split)
    if options.skip < 1:
        raise InputError(f"--skip must be >= 1, got {options.skip}")
    indices = list(range(0, len(views), options.skip))
    if options.views:
        indices = [indices[i] for i in options.views if i < len(indices)]
    out_dir = options.out_dir or run.run_dir / f"eval_{options.split}"
    settings = render_settings(scene, config, training=False)
    per_image: list[dict[str, Any]] = []
    my_indices = shard(indices)
    iterator = my_indices
    is_root = backend.rank() == 0
    if progress and is_root:
        iterator = tqdm(my_indices, desc=f"eval {options.split}", unit="img", dynamic_ncols=True,
                        mininterval=0.5 if sys.stderr.isatty() else 30.0)
    # Rank 0 writes everything into a staging folder that becomes out_dir only once the report is complete:
    # a failure (disk full, Ctrl-C) leaves no half-written eval folder. Other MPI ranks send their PNGs along.
    with contextlib.ExitStack() as stack:
        staging = stack.enter_context(fileio.staged_folder(out_dir)) if is_root else None
        for index in iterator:
            outputs, seconds = timed_render(run.model, scene, views.c2w[index], settings,
                                            config.render.chunk_points)
            target = views.images[index]
            record = {"index": index, "name": views.names[index] if views.names else str(index), "sec": seconds}
            record.update(image_metrics(outputs["color"], target, options.lpips_nets))
            per_image.append(record)
            if options.save_images:
                name = record["name"].replace("/", "_")
                pngs = {
                    f"{name}_rgb.png": png_bytes(to_uint8(outputs["color"])),
                    f"{name}_depth.png": png_bytes(depth_to_image(outputs["depth"], outputs["acc"], scene.near,
                                                                  scene.far)),
                    f"{name}_error.png": png_bytes(error_to_image(outputs["color"], target)),
                }
                if staging is not None:
                    _write_files(staging, pngs, out_dir)
                else:
                    record["_png"] = pngs
        per_image = sorted(sum(gather_objects(per_image), []), key=lambda r: r["index"])
        for record in per_image:
            pngs = record.pop("_png", None)
            if pngs and staging is not None:
                _write_files(staging, pngs, out_dir)
        results = _results(run, options, scene, per_image, factor)
        if staging is not None:
            _write_files(staging, {"results.json": (fileio.dumps(results, indent=2) + "\n").encode(),
                                   "results.md": results_markdown(results, scene.name).encode()}, out_dir)
    return results


def _write_files(staging: Path, files: dict[str, bytes], shown: Path) -> None:
    """Write ``files`` (name → bytes) into the staging folder; errors name the folder the user asked for."""
    for name, data in files.items():
        try:
            fileio.atomic_write_bytes(staging / name, data)
        except InputError as exc:
            raise InputError(str(exc).replace(str(staging), str(shown))) from None


def _results(run: LoadedRun, options: EvalOptions, scene, per_image: list[dict[str, Any]],
             factor: int) -> dict[str, Any]:
    """The report: means over ``per_image`` plus what was evaluated (non-finite values stay floats here;
    the JSON file writes them as null)."""
    config = run.config
    h, w = scene.intrinsics.height, scene.intrinsics.width
    metric_keys = [k for k in ("psnr", "ssim", "lpips_vgg", "lpips_alex")
                   if per_image and per_image[0].get(k) is not None]
    seconds = [r["sec"] for r in per_image]
    results = {
        "run_dir": str(run.run_dir), "checkpoint": str(run.checkpoint_path), "step": run.step,
        "checkpoint_choice": run.choice, "checkpoint_val_psnr": run.val_psnr,
        "model": config.model.kind, "points_per_ray": run.model.points_per_ray,
        "split": options.split, "skip": options.skip,
        "n_images": len(per_image), "height": h, "width": w, "factor": factor,
        **{k: float(np.mean([r[k] for r in per_image])) for k in metric_keys},
        "sec_per_image": float(np.mean(seconds)) if seconds else float("nan"),
        "rays_per_sec": float(h * w / np.mean(seconds)) if seconds else float("nan"),
        "device": backend.DEVICE, "tf32": bool(getattr(backend, "TF32", False)), "world_size": backend.world_size(),
        "per_image": per_image,
    }
    return results


def points_per_ray_of(results: dict[str, Any]) -> int:
    """Radiance-field queries per ray of a results.json: ``points_per_ray``, or, in files written before it
    was named so, ``samples_per_ray`` / ``n_samples`` (the same number: for NeRF, Nc + (Nc + Ni), not a sample
    count)."""
    for key in ("points_per_ray", "samples_per_ray", "n_samples"):
        if key in results:
            return int(results[key])
    raise KeyError("points_per_ray")


def results_markdown(results: dict[str, Any], scene_name: str) -> str:
    """A table in the form of the reference port's README (scene, PSNR, SSIM, LPIPS, time per image)."""
    def cell(key: str, fmt: str) -> str:
        return format(results[key], fmt) if key in results else "–"

    lines = [
        f"# {results['model']} ({points_per_ray_of(results)} points per ray), {results['split']} split, "
        f"{results['n_images']} images at {results['width']}x{results['height']}, step {results['step']}",
        "",
        "| Scene | PSNR | SSIM | LPIPS (vgg) | LPIPS (alex) | Inference time per image |",
        "|---|---|---|---|---|---|",
        f"| {scene_name} | {cell('psnr', '.2f')} | {cell('ssim', '.3f')} | {cell('lpips_vgg', '.3f')} | "
        f"{cell('lpips_alex', '.3f')} | {results['sec_per_image']:.3f} s ({results['device']}) |",
        "",
    ]
    return "\n".join(lines)


def evaluate(run_dir: str | Path, options: EvalOptions, checkpoint: str | Path | None = None,
             progress: bool = True) -> dict[str, Any]:
    """Evaluate the checkpoint ``checkpoint`` names: None / 'latest', 'best' (highest recorded validation
    PSNR), a step number, or a file (see :func:`jneusample.platform.runs.load_run`). Collective under MPI:
    every rank evaluates the checkpoint rank 0 chose."""
    run = load_run(run_dir, checkpoint, samples=options.samples)
    chosen = gather_objects(str(run.checkpoint_path))[0]
    if str(run.checkpoint_path) != chosen:  # MPI, a run still training: "latest" moved between ranks' reads
        run = load_run(run_dir, Path(chosen), samples=options.samples)
    return evaluate_run(run, options, progress=progress)
