"""Frames per second of the web viewer (``jneusample view``) at 100×100 pixels, N = 8 and N = 32, float32.

    python3 -m jneusample train --data jneusample/assets/demo_scene --preset cpu --max-minutes 3 \\
        --set model.sample_field_head=quantile --out /tmp/viewer_demo_q      # an any-N model of the demo scene
    python3 benchmarks/viewer_fps.py --run /tmp/viewer_demo_q               # → benchmarks/results/viewer_fps.json

A frame is the viewer's render thread's work: ``viewer.render_view`` of the first test camera at 100×100 and
``display_image`` (the 8-bit picture; JPEG encoding not timed). Per N: ``--warmup`` untimed frames (compiling),
then ``--frames`` timed; also the size the viewer picks while the camera moves, its fps, and the validation PSNR.
"""
from __future__ import annotations

import sys
import time

import harness as h

SPEC = h.Spec("viewer_fps", __doc__)

SIZE = 100
"""Frame width and height of the benchmark, in pixels."""


def time_frames(viewer, camera, frames: int, warmup: int) -> tuple[float, float]:
    """(frames per second, rays per second) of ``frames`` viewer frames of ``camera`` after ``warmup`` untimed."""
    from jneusample.outputs.viewer import display_image, render_view

    seconds = []
    for index in range(warmup + frames):
        start = time.perf_counter()
        outputs, _ = render_view(viewer.run.model, viewer.scene, camera, viewer.settings, viewer.chunk_points)
        display_image(outputs, "rgb", viewer.scene.near, viewer.scene.far)
        if index >= warmup:
            seconds.append(time.perf_counter() - start)
    fps = len(seconds) / sum(seconds)
    return fps, fps * camera.width * camera.height


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("--run", required=True, help="a run whose model renders at any N (quantile head)")
    parser.add_argument("--samples", default="8,32", help="the N to measure, comma-separated")
    parser.add_argument("--frames", type=int, default=20, help="timed frames per N")
    parser.add_argument("--warmup", type=int, default=3, help="untimed frames per N before the timed ones")
    parser.add_argument("--moving-fps", type=float, default=4.0, help="the viewer's --moving-fps")
    args = SPEC.parse(parser, argv)

    from jneusample.outputs.viewer import (ViewCamera, Viewer, ViewerOptions, frame_size, moving_pixels,
                                           validation_psnr, vertical_fov)

    viewer = Viewer(args.run, ViewerOptions(port=0))
    if not viewer.any_n:
        raise SystemExit(f"{args.run}: the model renders a fixed N; train it with model.sample_field_head=quantile")
    scene = viewer.scene
    fov_y = vertical_fov(scene.intrinsics)
    c2w = scene.split("test").c2w[0]
    full = ViewCamera(c2w=c2w, fov_y=fov_y, width=SIZE, height=SIZE)
    rows = {}
    with h.Alone("viewer", processes=1, interval=2.0) as load:
        for n in [int(value) for value in args.samples.split(",")]:
            viewer.run.model.set_points_per_ray(n)
            fps, rays = time_frames(viewer, full, args.frames, args.warmup)
            width, height = frame_size(1.0, moving_pixels(rays, args.moving_fps, SIZE * SIZE))
            moving = ViewCamera(c2w=c2w, fov_y=fov_y, width=width, height=height)
            moving_fps, _ = time_frames(viewer, moving, args.frames, args.warmup)
            psnr, views, split = validation_psnr(viewer.run.model, scene, viewer.settings, viewer.chunk_points, 4)
            rows[f"n{n}"] = {"samples_per_ray": n, "fps_100x100": round(fps, 2), "rays_per_s": round(rays),
                             "ms_per_frame": round(1000.0 / fps, 1), "moving_size": [width, height],
                             "moving_fps": round(moving_fps, 2), "psnr": round(psnr, 2), "psnr_views": views,
                             "psnr_split": split}
            print(f"N = {n}: {fps:.2f} fps at {SIZE}x{SIZE} ({rays / 1000:.1f}k rays/s, {1000 / fps:.0f} ms/frame); "
                  f"moving {width}x{height}: {moving_fps:.2f} fps; {split} PSNR {psnr:.2f} dB ({views} views)",
                  flush=True)
    SPEC.write(args, {
        "run": str(args.run), "step": viewer.run.step, "scene": scene.name, "model": viewer.run.config.model.kind,
        "head": viewer.run.config.model.sample_field_head, "frames": args.frames, "warmup": args.warmup,
        "moving_fps_target": args.moving_fps, "goal": "at least 2 fps at N = 8 while moving", "results": rows,
        "load_average": load.summary(),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
