"""The inference-cost benchmark (NeRF vs NeuSample at the paper's network sizes); ``jneusample bench`` runs it.

Renders the same image (same camera, same rays; random weights, which cost the same as trained ones) with each
model in one process, and reports per model the median time per image, rays/s, points/s, the MLP FLOPs it
performed (counted from the Linear layer shapes) and its cost relative to NeRF ("Inf. Cost" of the paper).

Timing rules: every model renders a few chunks before the clock runs (Jittor compiles its kernels then). The
image's rays are made once; each model renders them exactly as ``render_image`` does (``render_rays``, the same
chunks), but timed in ``--bands`` portions of whole chunks, and the models take turns portion by portion (A, B,
C on portion 1, then B, C, A on portion 2, …), so that a load change on a shared machine hits every model alike
instead of whichever model happened to be running. An image's time is the sum of its portions; the median over
``--repeats`` images is reported per model, and ``inf_cost`` is the median of the per-repeat ratios to NeRF.
``sgemm_gflops`` (4 back-to-back 2048³ float32 matmuls through Jittor, median of runs interleaved with the
bands) is the ceiling the MLP path is compared with: ``mlp_efficiency`` = nominal MLP GFLOP/s / sgemm_gflops.
"Nominal" FLOPs are those of the model's Linear layers as written (2·in·out per point per layer, plus the view
part of the colour layer and NeuSample's sample field once per ray); the radiance field executes 11% fewer
(``fields/radiance.py`` folds two layers into one), so ``executed_gflops`` is reported too. A few training steps
per model (forward, backward, Adam) give ``train_points_per_sec``. The FLOP counts are the models' own
(``Model.flops_per_ray``, from :func:`jneusample.fields.flops.radiance_flops`).
"""
from __future__ import annotations

import math
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

DEFAULT_MODELS = "nerf,neusample192,neusample64"
SGEMM_SIZE = 2048
SGEMM_COUNT = 4


# ----------------------------------------------------------------------------------------------------------- models

def parse_models(text: str) -> list[str]:
    """``nerf,neusample192,quantile64`` → ['nerf', 'neusample192', 'quantile64']; unknown or repeated names are an
    InputError. neusampleN: NeuSample with the paper's sample-field head; quantileN: with the quantile head
    (any N at render time, docs/method.md §8), rendering N samples."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    if not names:
        raise InputError(f"--models {text!r}: expected a comma-separated list such as {DEFAULT_MODELS}")
    for name in names:
        match = re.fullmatch(r"(?:neusample|quantile)(\d+)", name)
        if name != "nerf" and not (match and 2 <= int(match.group(1)) <= 4096):
            raise InputError(f"--models: unknown model {name!r} (expected nerf, neusampleN or quantileN with "
                             f"2 <= N <= 4096, e.g. {DEFAULT_MODELS})")
    if len(set(names)) != len(names):
        raise InputError(f"--models {text!r}: a model is listed twice")
    return names


def model_config(name: str):
    """The paper-width ModelConfig of a benchmark model name."""
    # deferred: `jneusample bench` parses its arguments with this module before Jittor starts
    from ..config import preset

    config = preset("paper").model
    if name == "nerf":
        config.kind, config.n_coarse, config.n_importance = "nerf", 64, 128
    else:
        head = "quantile" if name.startswith("quantile") else "paper"
        config.kind, config.sample_field_head = "neusample", head
        config.n_samples = int(re.fullmatch(r"[a-z]+(\d+)", name).group(1))
    return config


def flops_per_ray(model, executed: bool = False) -> int:
    """MLP FLOPs of one rendered ray, nominal or ``executed``: :meth:`jneusample.models.model.Model.flops_per_ray`."""
    return model.flops_per_ray(executed)


# ------------------------------------------------------------------------------------------------------------ scene

def bench_scene(height: int, width: int):
    """A Blender-like camera (lego's field of view, near 2, far 6, white background) with no images."""
    # deferred: `jneusample bench` parses its arguments with this module before Jittor starts
    from ..data.scene import Intrinsics, Scene

    focal = 0.5 * width / math.tan(0.5 * 0.6911112)  # nerf_synthetic's camera_angle_x
    return Scene(name="bench", format="blender", root=Path("."), splits={}, near=2.0, far=6.0,
                 intrinsics=Intrinsics(width=width, height=height, fx=focal, fy=focal, cx=width / 2, cy=height / 2))


def bench_pose() -> np.ndarray:
    # deferred: `jneusample bench` parses its arguments with this module before Jittor starts
    from ..data.camera_paths import spherical_pose

    return spherical_pose(30.0, -30.0, 4.0)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ----------------------------------------------------------------------------------------------------------- timing

def sgemm_gflops(jt, size: int = SGEMM_SIZE, count: int = SGEMM_COUNT) -> float:
    """GFLOP/s of ``count`` back-to-back size×size float32 matmuls through Jittor (inputs resident, results
    synchronised). Several in a row (~0.5 s on 2 cores) so that one unlucky time slice on a shared machine
    does not decide the ceiling."""
    if not hasattr(sgemm_gflops, "inputs") or sgemm_gflops.inputs[0].shape[0] != size:
        sgemm_gflops.inputs = (jt.randn(size, size), jt.randn(size, size))
        jt.matmul(*sgemm_gflops.inputs).sync()  # compile + first-touch outside the clock
    a, b = sgemm_gflops.inputs
    jt.sync_all(True)
    start = time.perf_counter()
    for _ in range(count):
        jt.matmul(a, b).sync()
    return count * 2.0 * size ** 3 / (time.perf_counter() - start) / 1e9


def chunk_portions(n_rays: int, chunk_rays: int, bands: int) -> list[tuple[int, int]]:
    """[start, stop) ray ranges that split the chunks of ``render_rays`` into ``bands`` groups of whole chunks
    (fewer when there are fewer chunks), so the portions together are exactly the chunks of one render."""
    n_chunks = -(-n_rays // chunk_rays)
    groups = np.array_split(np.arange(n_chunks), min(bands, n_chunks))
    return [(int(g[0]) * chunk_rays, min((int(g[-1]) + 1) * chunk_rays, n_rays)) for g in groups if len(g)]


def timed_rays(jt, model, rays, span: tuple[int, int], settings, chunk_points: int) -> float:
    """Seconds to render rays[start:stop] with ``render_rays`` (synchronised before and after)."""
    # deferred: `jneusample bench` parses its arguments with this module before Jittor starts
    from ..rendering import render_rays

    (start, stop), (origins, directions, view_dirs) = span, rays
    jt.sync_all(True)
    begin = time.perf_counter()
    render_rays(model, origins[start:stop], directions[start:stop], view_dirs[start:stop], settings, chunk_points)
    jt.sync_all(True)
    return time.perf_counter() - begin


def train_steps(jt, model, scene, steps: int, rays: int, seed: int = 0) -> float:
    """Median seconds of a training step (forward, loss, backward, Adam) on ``rays`` random pixels."""
    # deferred: `jneusample bench` parses its arguments with this module before Jittor starts
    from ..data.rays import scene_rays
    from ..rendering import Rays, RenderSettings

    optimizer = jt.optim.Adam(model.parameters(), lr=5e-4)
    settings = RenderSettings(near=scene.near, far=scene.far, white_background=True, density_noise_std=1.0,
                              perturb=True)
    rng = np.random.default_rng(seed)
    h, w = scene.intrinsics.height, scene.intrinsics.width
    times = []
    for step in range(steps + 1):  # step 0 compiles the backward kernels
        cols, rows = rng.integers(0, w, rays), rng.integers(0, h, rays)
        origins, directions, view_dirs = scene_rays(scene, bench_pose(), cols, rows)
        target = jt.array(rng.random((rays, 3), dtype=np.float32))
        jt.sync_all(True)
        start = time.perf_counter()
        outputs = model(Rays.from_numpy(origins, directions, view_dirs), settings)
        optimizer.step(model.loss(outputs, target))
        jt.sync_all(True)
        if step > 0:
            times.append(time.perf_counter() - start)
    return float(np.median(times))


# -------------------------------------------------------------------------------------------------------------- run

def run_bench(names: list[str], height: int, width: int, repeats: int, chunk_points: int | None = None,
              train_steps_count: int = 2, train_rays: int = 256, progress: bool = True,
              bands: int = 8) -> dict[str, Any]:
    """Run the benchmark and return the JSON-ready results (see the module docstring)."""
    # Jittor here, not at the top: `jneusample bench` parses its arguments with this module before Jittor starts
    from ..platform.backend import jt
    from ..config import preset
    from ..models.registry import build_model
    from ..rendering import RenderSettings

    chunk_points = chunk_points or preset("paper").render.chunk_points
    scene = bench_scene(height, width)
    settings = RenderSettings(near=scene.near, far=scene.far, white_background=True)
    models = {}
    for name in names:
        jt.set_global_seed(0)
        models[name] = build_model(model_config(name))
    bar = None
    if progress:
        from tqdm import tqdm  # only with a bar

        bar = tqdm(total=len(names) * (repeats + 1) + (len(names) if train_steps_count else 0), desc="bench",
                   unit="run", dynamic_ncols=True, file=sys.stderr, mininterval=0.5 if sys.stderr.isatty() else 30.0)
    seconds, sgemm = time_renders(jt, models, scene, settings, chunk_points, repeats, bands, bar)
    render_rss = peak_rss_mib()
    train_seconds = {}
    if train_steps_count:
        for name, model in models.items():
            train_seconds[name] = train_steps(jt, model, scene, train_steps_count, train_rays)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    results: dict[str, Any] = {
        "sgemm_gflops": float(np.median(sgemm)), "height": height, "width": width, "models": {},
        "sgemm_size": SGEMM_SIZE, "sgemm_count": SGEMM_COUNT, "sgemm_runs": sgemm, "repeats": repeats,
        "bands": bands, "chunk_points": chunk_points,
        "device": backend_device(), "peak_rss_mib_render": render_rss, "peak_rss_mib": peak_rss_mib(),
        "train_rays": train_rays if train_steps_count else 0,
    }
    nerf_flops = flops_per_ray(models["nerf"] if "nerf" in models else build_model(model_config("nerf")))
    for name, model in models.items():
        results["models"][name] = model_entry(model, seconds, name, height * width, chunk_points,
                                              results["sgemm_gflops"], nerf_flops, train_seconds.get(name),
                                              train_rays)
    return results


def time_renders(jt, models: dict[str, Any], scene, settings, chunk_points: int, repeats: int, bands: int,
                 bar) -> tuple[dict[str, list[float]], list[float]]:
    """Seconds per image of every model, ``repeats`` times, each image rendered in bands interleaved across
    the models and with the sgemm ceiling (rotating who goes first); returns (seconds by model, sgemm GFLOP/s
    runs). Every model compiles first on two full chunks and a partial one."""
    from ..data.rays import scene_rays  # Jittor: see run_bench
    from ..rendering import chunk_rays_of

    names = list(models)
    sgemm = [sgemm_gflops(jt)]
    rays = scene_rays(scene, bench_pose())
    n_rays = scene.intrinsics.height * scene.intrinsics.width
    portions = {name: chunk_portions(n_rays, chunk_rays_of(model, chunk_points), bands)
                for name, model in models.items()}
    seconds: dict[str, list[float]] = {name: [] for name in names}
    with jt.no_grad():
        for name, model in models.items():  # compile: two full chunks and a partial one
            timed_rays(jt, model, rays, (0, min(n_rays, 2 * chunk_rays_of(model, chunk_points) + 1)), settings,
                       chunk_points)
            if bar is not None:
                bar.update(1)
        for _ in range(repeats):
            image = dict.fromkeys(names, 0.0)
            for index in range(max(len(p) for p in portions.values())):
                sgemm.append(sgemm_gflops(jt))
                for turn in range(len(names)):  # rotate who goes first, so nobody always follows the sgemm
                    name = names[(index + turn) % len(names)]
                    if index < len(portions[name]):
                        image[name] += timed_rays(jt, models[name], rays, portions[name][index], settings,
                                                  chunk_points)
            for name in names:
                seconds[name].append(image[name])
                if bar is not None:
                    bar.update(1)
    return seconds, sgemm


def model_entry(model, seconds: dict[str, list[float]], name: str, pixels: int, chunk_points: int,
                ceiling: float, nerf_flops: int, train_step_seconds: float | None, train_rays: int) -> dict[str, Any]:
    """One model's row of the results: time, throughput, FLOPs, efficiency against the sgemm ceiling, cost
    relative to NeRF (per image, and in FLOPs), and its training step when measured."""
    from ..rendering import chunk_rays_of  # Jittor: see run_bench

    sec = float(np.median(seconds[name]))
    ray_flops, executed = flops_per_ray(model), flops_per_ray(model, executed=True)
    entry = {
        "points_per_ray": model.points_per_ray,
        "chunks_per_image": -(-pixels // chunk_rays_of(model, chunk_points)),
        "sec_per_image": sec, "sec_runs": seconds[name],
        "rays_per_sec": pixels / sec, "points_per_sec": pixels * model.points_per_ray / sec,
        "mflop_per_ray": ray_flops / 1e6, "gflop_per_image": ray_flops * pixels / 1e9,
        "gflops": ray_flops * pixels / sec / 1e9,
        "mlp_efficiency": ray_flops * pixels / sec / 1e9 / ceiling,
        "executed_gflops": executed * pixels / sec / 1e9,
        "executed_efficiency": executed * pixels / sec / 1e9 / ceiling,
        "inf_cost": float(np.median(np.divide(seconds[name], seconds["nerf"]))) if "nerf" in seconds else None,
        "flop_cost": ray_flops / nerf_flops,
    }
    if train_step_seconds is not None:
        entry.update({"train_sec_per_step": train_step_seconds,
                      "train_points_per_sec": train_rays * model.points_per_ray / train_step_seconds})
    return entry


def backend_device() -> str:
    """The device Jittor runs on ('cpu' or 'cuda')."""
    from ..platform import backend  # Jittor: see run_bench

    return backend.DEVICE


def summary_table(results: dict[str, Any]) -> str:
    """A markdown table of the results (what the command prints)."""
    lines = [f"{results['width']}x{results['height']}, sgemm ceiling {results['sgemm_gflops']:.1f} GFLOP/s, "
             f"peak host memory {results['peak_rss_mib']:.0f} MiB ({results['device']})", "",
             "| model | points/ray | s/image | rays/s | points/s | GFLOP/s (nominal) | of sgemm (executed) "
             "| inf. cost | FLOP cost | train points/s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, m in results["models"].items():
        cost = f"{m['inf_cost']:.3f}" if m["inf_cost"] is not None else "–"
        train = f"{m['train_points_per_sec']:.0f}" if "train_points_per_sec" in m else "–"
        lines.append(f"| {name} | {m['points_per_ray']} | {m['sec_per_image']:.3f} | {m['rays_per_sec']:.0f} | "
                     f"{m['points_per_sec']:.0f} | {m['gflops']:.1f} | {m['mlp_efficiency']:.2f} "
                     f"({m['executed_efficiency']:.2f}) | {cost} | "
                     f"{m['flop_cost']:.3f} | {train} |")
    return "\n".join(lines)
