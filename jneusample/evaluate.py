"""Evaluate a run: render a split, compute metrics per image, time the renders, write a report."""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from . import backend
from .backend import jt
from .checkpoint import atomic_write_bytes, atomic_write_text
from .data import load_scene
from .errors import InputError
from .rendering import render_image
from .runs import LoadedRun, load_run, read_scene_info
from .train import render_settings


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


def to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def depth_to_image(depth: np.ndarray, acc: np.ndarray, near: float, far: float) -> np.ndarray:
    """Depth map → 8-bit grey (near = white, far = black; empty pixels black)."""
    normalised = 1.0 - np.clip((depth / np.maximum(acc, 1e-6) - near) / max(far - near, 1e-6), 0.0, 1.0)
    return to_uint8(normalised * (acc > 0.5))


def png_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def image_metrics(prediction: np.ndarray, target: np.ndarray, lpips_nets: tuple[str, ...]) -> dict[str, float]:
    """PSNR on the float prediction; SSIM and LPIPS as PROTOCOL.md describes."""
    from .metrics import image_metrics as compute

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
    factor = options.factor or int(info.get("factor", config.data.factor))
    data = options.data or info["data"]
    scene = load_scene(data, factor=factor, testskip=1)
    views = scene.split(options.split)
    if options.skip < 1:
        raise InputError(f"--skip must be >= 1, got {options.skip}")
    indices = list(range(0, len(views), options.skip))
    if options.views:
        indices = [indices[i] for i in options.views if i < len(indices)]
    out_dir = options.out_dir or run.run_dir / f"eval_{options.split}"
    settings = render_settings(scene, config, training=False)
    per_image: list[dict[str, Any]] = []
    from .distributed import gather_objects, shard

    my_indices = shard(indices)
    iterator = my_indices
    if progress and backend.rank() == 0:
        from tqdm import tqdm

        iterator = tqdm(my_indices, desc=f"eval {options.split}", unit="img", dynamic_ncols=True,
                        mininterval=0.5 if sys.stderr.isatty() else 30.0)
    for index in iterator:
        outputs, seconds = timed_render(run.model, scene, views.c2w[index], settings, config.render.chunk_points)
        target = views.images[index]
        record = {"index": index, "name": views.names[index] if views.names else str(index), "sec": seconds}
        record.update(image_metrics(outputs["color"], target, options.lpips_nets))
        per_image.append(record)
        if options.save_images:
            name = record["name"].replace("/", "_")
            error = to_uint8(np.abs(outputs["color"] - target).mean(-1) * 4.0)
            atomic_write_bytes(out_dir / f"{name}_rgb.png", png_bytes(to_uint8(outputs["color"])))
            atomic_write_bytes(out_dir / f"{name}_depth.png",
                               png_bytes(depth_to_image(outputs["depth"], outputs["acc"], scene.near, scene.far)))
            atomic_write_bytes(out_dir / f"{name}_error.png", png_bytes(error))
    per_image = sorted(sum(gather_objects(per_image), []), key=lambda r: r["index"])
    h, w = scene.intrinsics.height, scene.intrinsics.width
    metric_keys = [k for k in ("psnr", "ssim", "lpips_vgg", "lpips_alex")
                   if per_image and per_image[0].get(k) is not None]
    seconds = [r["sec"] for r in per_image]
    results = {
        "run_dir": str(run.run_dir), "checkpoint": str(run.checkpoint_path), "step": run.step,
        "model": config.model.kind, "n_samples": run.model.points_per_ray,
        "samples_per_ray": run.model.points_per_ray, "split": options.split, "skip": options.skip,
        "n_images": len(per_image), "height": h, "width": w, "factor": factor,
        **{k: float(np.mean([r[k] for r in per_image])) for k in metric_keys},
        "sec_per_image": float(np.mean(seconds)) if seconds else float("nan"),
        "rays_per_sec": float(h * w / np.mean(seconds)) if seconds else float("nan"),
        "device": backend.DEVICE, "world_size": backend.world_size(),
        "per_image": per_image,
    }
    if backend.rank() == 0:
        atomic_write_text(out_dir / "results.json", json.dumps(results, indent=2) + "\n")
        atomic_write_text(out_dir / "results.md", results_markdown(results, scene.name))
    return results


def results_markdown(results: dict[str, Any], scene_name: str) -> str:
    """A table in the form of the reference port's README (scene, PSNR, SSIM, LPIPS, time per image)."""
    def cell(key: str, fmt: str) -> str:
        return format(results[key], fmt) if key in results else "–"

    lines = [
        f"# {results['model']} (N={results['n_samples']}), {results['split']} split, "
        f"{results['n_images']} images at {results['width']}x{results['height']}, step {results['step']}",
        "",
        "| Scene | PSNR | SSIM | LPIPS (vgg) | LPIPS (alex) | Inference time per image |",
        "|---|---|---|---|---|---|",
        f"| {scene_name} | {cell('psnr', '.2f')} | {cell('ssim', '.3f')} | {cell('lpips_vgg', '.3f')} | "
        f"{cell('lpips_alex', '.3f')} | {results['sec_per_image']:.3f} s ({results['device']}) |",
        "",
    ]
    return "\n".join(lines)


def evaluate(run_dir: str | Path, options: EvalOptions, checkpoint: str | None = None,
             progress: bool = True) -> dict[str, Any]:
    return evaluate_run(load_run(run_dir, checkpoint), options, progress=progress)
