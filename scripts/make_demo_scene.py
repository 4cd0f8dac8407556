#!/usr/bin/env python3
"""Render the small demo scene that JNeuSample ships, in the NeRF "Blender" format.

The scene is analytic and ray traced here with NumPy (images written with Pillow), so the project
does not need to ship any NeRF data.  It is deterministic: the same command writes the same files.

Scene (world z is up, as in the NeRF Blender scenes; everything lies within radius 1.35 of the origin):

* a round grey base disc (radius 1.25, top at z = -0.4) with a checkerboard of light/dark tiles;
* a large checker-textured sphere (white and purple) in the middle;
* a plain red sphere and a small plain blue sphere;
* an axis-aligned green box with a darker grid of lines on its faces;
* an orange cylinder with vertical yellow stripes;
* a golden torus standing upright on the disc.

Shading is Lambertian from one directional light plus an ambient term, with hard shadows.  The
background is transparent (alpha 0).  Each pixel averages a 4x4 grid of sub-pixel rays (colour and
alpha); colour is stored straight (not premultiplied), as Blender writes RGBA PNGs.

Camera convention (NeRF/Blender): the camera looks down its -z axis, +y is up and +x right; pixel
(i = column, j = row) has the camera-frame direction ((i - W/2)/f, -(j - H/2)/f, -1) with
f = 0.5 W / tan(0.5 camera_angle_x).  ``transform_matrix`` is the 4x4 camera-to-world matrix.
Cameras sit on a sphere of radius 4 around the origin, looking at it, 15-60 degrees above the
horizon, so near = 2 and far = 6 bracket the scene.

Usage:
    python scripts/make_demo_scene.py                      # -> jneusample/assets/demo_scene/
    python scripts/make_demo_scene.py --out /tmp/scene --size 32 --train 10 --val 2 --test 2
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "jneusample" / "assets" / "demo_scene"
CAMERA_ANGLE_X = 0.6911112070083618  # as in the NeRF "lego" scene
CAMERA_RADIUS = 4.0
ELEVATION_RANGE = (15.0, 60.0)  # degrees above the horizon
SUPERSAMPLE = 4  # 4x4 rays per pixel
SEED = 20240601
INF = np.inf
EPS = 1e-4

LIGHT_DIR = np.array([0.45, -0.35, 0.82])
LIGHT_DIR = LIGHT_DIR / np.linalg.norm(LIGHT_DIR)  # towards the light
AMBIENT = 0.28
DIFFUSE = 0.72

# ---------------------------------------------------------------------------------------------
# Scene description (all objects rest on the disc top at z = -0.4).

DISC = dict(center=(0.0, 0.0), radius=1.25, z0=-0.5, z1=-0.4, tile=0.25,
            light=(0.80, 0.77, 0.70), dark=(0.50, 0.48, 0.44), side=(0.40, 0.38, 0.36))
CHECKER_SPHERE = dict(center=(0.0, 0.0, 0.12), radius=0.52, n_lon=12, n_lat=8,
                      light=(0.93, 0.93, 0.90), dark=(0.40, 0.16, 0.55))
RED_SPHERE = dict(center=(0.72, 0.48, -0.15), radius=0.25, color=(0.88, 0.16, 0.12))
BLUE_SPHERE = dict(center=(-0.35, 0.80, -0.22), radius=0.18, color=(0.14, 0.32, 0.90))
BOX = dict(lo=(-1.0, -0.45, -0.4), hi=(-0.6, 0.05, 0.05), grid=10.0,
           color=(0.22, 0.70, 0.30), line=(0.07, 0.32, 0.12))
CYLINDER = dict(center=(0.35, -0.85), radius=0.15, z0=-0.4, z1=0.3, stripes=12,
                color=(0.96, 0.52, 0.10), stripe=(0.98, 0.90, 0.30), cap=(0.96, 0.52, 0.10))
TORUS = dict(center=(0.85, -0.2, -0.11), axis=(0.8, 0.6, 0.0), major=0.22, minor=0.07,
             color=(0.92, 0.76, 0.18))

# Object ids (index into the list of intersection routines below).
OBJ_DISC, OBJ_CHECKER, OBJ_RED, OBJ_BLUE, OBJ_BOX, OBJ_CYL, OBJ_TORUS = range(7)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, b)


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


# ---------------------------------------------------------------------------------------------
# Ray/primitive intersections.  Each takes origins O (N, 3) and unit directions D (N, 3) and
# returns the nearest hit distance t (N,) (inf for a miss) and the outward unit normal (N, 3).


def _nearest_positive(t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    return np.where(t1 > EPS, t1, np.where(t2 > EPS, t2, INF))


def hit_sphere(O, D, center, radius):
    oc = O - np.asarray(center)
    b = _dot(oc, D)
    c = _dot(oc, oc) - radius * radius
    disc = b * b - c
    ok = disc >= 0
    root = np.sqrt(np.where(ok, disc, 0.0))
    t = np.where(ok, _nearest_positive(-b - root, -b + root), INF)
    p = O + D * np.where(np.isfinite(t), t, 0.0)[:, None]
    return t, (p - np.asarray(center)) / radius


def hit_box(O, D, lo, hi):
    lo, hi = np.asarray(lo), np.asarray(hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / np.where(D == 0, 1e-30, D)
        ta, tb = (lo - O) * inv, (hi - O) * inv
    tnear = np.minimum(ta, tb).max(axis=1)
    tfar = np.maximum(ta, tb).min(axis=1)
    ok = (tnear <= tfar) & (tfar > EPS)
    t = np.where(ok, np.where(tnear > EPS, tnear, tfar), INF)
    p = O + D * np.where(np.isfinite(t), t, 0.0)[:, None]
    centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    q = (p - centre) / half
    axis = np.abs(q).argmax(axis=1)
    normal = np.zeros_like(p)
    normal[np.arange(len(p)), axis] = np.sign(q[np.arange(len(p)), axis])
    return t, normal


def hit_cylinder(O, D, center, radius, z0, z1):
    """Capped cylinder with a vertical (z) axis."""
    cx, cy = center
    ox, oy = O[:, 0] - cx, O[:, 1] - cy
    dx, dy = D[:, 0], D[:, 1]
    a = dx * dx + dy * dy
    b = ox * dx + oy * dy
    c = ox * ox + oy * oy - radius * radius
    disc = b * b - a * c
    ok = (disc >= 0) & (a > 1e-12)
    root = np.sqrt(np.where(ok, disc, 0.0))
    safe_a = np.where(a > 1e-12, a, 1.0)
    t_side = INF * np.ones(len(O))
    for t_try in ((-b + root) / safe_a, (-b - root) / safe_a):  # nearer one last, so it wins
        z = O[:, 2] + t_try * D[:, 2]
        good = ok & (t_try > EPS) & (z >= z0) & (z <= z1)
        t_side = np.where(good & (t_try < t_side), t_try, t_side)
    t_cap = INF * np.ones(len(O))
    cap_sign = np.zeros(len(O))
    dz = np.where(np.abs(D[:, 2]) < 1e-12, 1e-12, D[:, 2])
    for zc, sign in ((z0, -1.0), (z1, 1.0)):
        t_try = (zc - O[:, 2]) / dz
        px, py = ox + t_try * dx, oy + t_try * dy
        good = (t_try > EPS) & (px * px + py * py <= radius * radius) & (t_try < t_cap)
        t_cap = np.where(good, t_try, t_cap)
        cap_sign = np.where(good, sign, cap_sign)
    use_cap = t_cap < t_side
    t = np.where(use_cap, t_cap, t_side)
    tt = np.where(np.isfinite(t), t, 0.0)
    normal = np.stack([(ox + tt * dx) / radius, (oy + tt * dy) / radius, np.zeros(len(O))], axis=1)
    normal[use_cap] = 0.0
    normal[use_cap, 2] = cap_sign[use_cap]
    return t, normal


def _torus_frame(axis):
    w = _normalize(np.asarray(axis, dtype=np.float64)[None])[0]
    helper = np.array([0.0, 0.0, 1.0]) if abs(w[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(helper, w)
    u /= np.linalg.norm(u)
    v = np.cross(w, u)
    return np.stack([u, v, w])  # rows: local x, y (ring plane) and z (axis)


def hit_torus(O, D, center, axis, major, minor, steps=96):
    """Torus by sphere tracing its signed distance, only for rays that meet its bounding sphere."""
    frame = _torus_frame(axis)
    lo = (O - np.asarray(center)) @ frame.T
    ld = D @ frame.T
    t = INF * np.ones(len(O))
    normal = np.zeros_like(O)
    bound = major + minor + 1e-3
    b = _dot(lo, ld)
    c = _dot(lo, lo) - bound * bound
    disc = b * b - c
    cand = np.nonzero((disc > 0) & (-b + np.sqrt(np.maximum(disc, 0)) > EPS))[0]
    if len(cand) == 0:
        return t, normal
    ro, rd = lo[cand], ld[cand]
    root = np.sqrt(disc[cand])
    s = np.maximum(-b[cand] - root, 0.0)
    s_end = -b[cand] + root
    alive = np.ones(len(cand), dtype=bool)
    hit = np.zeros(len(cand), dtype=bool)
    for _ in range(steps):
        p = ro + rd * s[:, None]
        q = np.hypot(np.hypot(p[:, 0], p[:, 1]) - major, p[:, 2])
        dist = q - minor
        newly = alive & (dist < 1e-5)
        hit |= newly
        alive &= ~newly
        s = np.where(alive, s + dist, s)
        alive &= s < s_end
        if not alive.any():
            break
    s = np.where(hit & (s > EPS), s, INF)
    p = ro + rd * np.where(np.isfinite(s), s, 0.0)[:, None]
    ring = np.hypot(p[:, 0], p[:, 1])
    ring_pt = np.stack([p[:, 0], p[:, 1], np.zeros(len(p))], 1) * (major / np.maximum(ring, 1e-12))[:, None]
    n_local = _normalize(p - ring_pt)
    t[cand] = s
    normal[cand] = n_local @ frame
    return t, normal


def intersect_all(O, D):
    """(t (N, K), normals (K, N, 3)) for the K objects of the scene, in object-id order."""
    results = [
        hit_cylinder(O, D, DISC["center"], DISC["radius"], DISC["z0"], DISC["z1"]),
        hit_sphere(O, D, CHECKER_SPHERE["center"], CHECKER_SPHERE["radius"]),
        hit_sphere(O, D, RED_SPHERE["center"], RED_SPHERE["radius"]),
        hit_sphere(O, D, BLUE_SPHERE["center"], BLUE_SPHERE["radius"]),
        hit_box(O, D, BOX["lo"], BOX["hi"]),
        hit_cylinder(O, D, CYLINDER["center"], CYLINDER["radius"], CYLINDER["z0"], CYLINDER["z1"]),
        hit_torus(O, D, TORUS["center"], TORUS["axis"], TORUS["major"], TORUS["minor"]),
    ]
    ts = np.stack([r[0] for r in results], axis=1)
    normals = np.stack([r[1] for r in results], axis=0)
    return ts, normals


# ---------------------------------------------------------------------------------------------
# Materials.


def albedo(obj: np.ndarray, p: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Surface colour (N, 3) of the points ``p`` with normals ``n`` on objects ``obj``."""
    col = np.zeros_like(p)

    def paint(mask, colour):
        col[mask] = colour

    # Disc: checker tiles on the top, plain side and bottom.
    m = obj == OBJ_DISC
    top = m & (n[:, 2] > 0.5)
    tiles = (np.floor(p[:, 0] / DISC["tile"]) + np.floor(p[:, 1] / DISC["tile"])).astype(int) % 2 == 0
    paint(top & tiles, DISC["light"])
    paint(top & ~tiles, DISC["dark"])
    paint(m & ~top, DISC["side"])

    # Checker sphere: checks in longitude/latitude.
    m = obj == OBJ_CHECKER
    d = (p - np.asarray(CHECKER_SPHERE["center"])) / CHECKER_SPHERE["radius"]
    lon = (np.arctan2(d[:, 1], d[:, 0]) + np.pi) / (2 * np.pi)
    lat = np.arccos(np.clip(d[:, 2], -1, 1)) / np.pi
    checks = (np.floor(lon * CHECKER_SPHERE["n_lon"]) + np.floor(lat * CHECKER_SPHERE["n_lat"])).astype(int) % 2 == 0
    paint(m & checks, CHECKER_SPHERE["light"])
    paint(m & ~checks, CHECKER_SPHERE["dark"])

    paint(obj == OBJ_RED, RED_SPHERE["color"])
    paint(obj == OBJ_BLUE, BLUE_SPHERE["color"])

    # Box: grid lines on every face.
    m = obj == OBJ_BOX
    frac = (p - np.asarray(BOX["lo"])) * BOX["grid"]
    on_line = np.abs(frac - np.round(frac)) < 0.12  # near an integer, per axis
    on_line &= np.abs(n) < 0.5  # only the two axes that run along the face
    lines = on_line.any(axis=1)
    paint(m & lines, BOX["line"])
    paint(m & ~lines, BOX["color"])

    # Cylinder: vertical stripes around the side, plain caps.
    m = obj == OBJ_CYL
    side = m & (np.abs(n[:, 2]) < 0.5)
    ang = (np.arctan2(p[:, 1] - CYLINDER["center"][1], p[:, 0] - CYLINDER["center"][0]) + np.pi) / (2 * np.pi)
    stripes = np.floor(ang * CYLINDER["stripes"]).astype(int) % 2 == 0
    paint(side & stripes, CYLINDER["stripe"])
    paint(side & ~stripes, CYLINDER["color"])
    paint(m & ~side, CYLINDER["cap"])

    paint(obj == OBJ_TORUS, TORUS["color"])
    return col


# ---------------------------------------------------------------------------------------------
# Rendering.


def shade(O: np.ndarray, D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Colour (N, 3) and coverage (N,) of the rays (unit directions)."""
    ts, normals = intersect_all(O, D)
    obj = ts.argmin(axis=1)
    t = ts[np.arange(len(O)), obj]
    hit = np.isfinite(t)
    colour = np.zeros((len(O), 3))
    idx = np.nonzero(hit)[0]
    if len(idx) == 0:
        return colour, hit.astype(np.float64)
    o_hit = obj[idx]
    p = O[idx] + D[idx] * t[idx, None]
    n = normals[o_hit, idx]
    n = np.where(_dot(n, D[idx])[:, None] > 0, -n, n)  # face the viewer
    base = albedo(o_hit, p, n)
    lambert = np.clip(n @ LIGHT_DIR, 0.0, None)
    lit = lambert > 0
    visible = np.zeros(len(idx))
    if lit.any():
        so = p[lit] + n[lit] * 2e-3
        sd = np.broadcast_to(LIGHT_DIR, so.shape).copy()
        st, _ = intersect_all(so, sd)
        visible[lit] = (~np.isfinite(st).any(axis=1)).astype(np.float64)
    colour[idx] = base * (AMBIENT + DIFFUSE * lambert * visible)[:, None]
    return np.clip(colour, 0.0, 1.0), hit.astype(np.float64)


def focal_length(width: int) -> float:
    return 0.5 * width / math.tan(0.5 * CAMERA_ANGLE_X)


def render_view(c2w: np.ndarray, size: int) -> np.ndarray:
    """RGBA uint8 image (size, size, 4) seen by the camera-to-world matrix ``c2w`` (4x4)."""
    W = H = size
    f = focal_length(W)
    k = SUPERSAMPLE
    offsets = (np.arange(k) + 0.5) / k - 0.5  # spread over the pixel, centred on (i, j)
    i = (np.arange(W)[:, None] + offsets[None, :]).reshape(-1)  # (W*k,)
    j = (np.arange(H)[:, None] + offsets[None, :]).reshape(-1)  # (H*k,)
    jj, ii = np.meshgrid(j, i, indexing="ij")  # (H*k, W*k)
    dirs_cam = np.stack([(ii - W / 2) / f, -(jj - H / 2) / f, -np.ones_like(ii)], axis=-1)
    dirs = dirs_cam.reshape(-1, 3) @ c2w[:3, :3].T
    D = _normalize(dirs)
    O = np.broadcast_to(c2w[:3, 3], D.shape).copy()
    colour, alpha = shade(O, D)
    colour = colour.reshape(H, k, W, k, 3)
    alpha = alpha.reshape(H, k, W, k)
    a = alpha.mean(axis=(1, 3))
    premult = (colour * alpha[..., None]).mean(axis=(1, 3))
    rgb = np.where(a[..., None] > 0, premult / np.maximum(a[..., None], 1e-12), 0.0)
    rgba = np.concatenate([rgb, a[..., None]], axis=-1)
    return np.round(np.clip(rgba, 0.0, 1.0) * 255.0).astype(np.uint8)


def look_at_origin(azimuth: float, elevation: float, radius: float = CAMERA_RADIUS) -> np.ndarray:
    """4x4 camera-to-world matrix of a camera at (azimuth, elevation) [radians] looking at the origin."""
    eye = radius * np.array([math.cos(elevation) * math.cos(azimuth),
                             math.cos(elevation) * math.sin(azimuth),
                             math.sin(elevation)])
    z = eye / np.linalg.norm(eye)  # the camera looks down -z, i.e. towards the origin
    x = np.cross([0.0, 0.0, 1.0], z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = x, y, z, eye
    return c2w


def camera_positions(n_train: int, n_val: int, n_test: int, seed: int = SEED):
    """(azimuth, elevation) lists in radians for the three splits; val/test differ from train."""
    rng = np.random.default_rng(seed)
    lo, hi = ELEVATION_RANGE
    golden = math.pi * (3.0 - math.sqrt(5.0))

    def elevations(n, shift):
        # Uniform in sin(elevation) over the band (uniform area on the sphere), stratified.
        s0, s1 = math.sin(math.radians(lo)), math.sin(math.radians(hi))
        u = (np.arange(n) + shift) / max(n, 1)
        return np.arcsin(s0 + (s1 - s0) * u)

    train_az = (np.arange(n_train) * golden + rng.uniform(-0.1, 0.1, n_train)) % (2 * math.pi)
    train_el = elevations(n_train, 0.5)
    train_el = train_el[rng.permutation(n_train)] if n_train else train_el
    # Val and test: evenly spread azimuths, offset from each other, elevations on their own strata.
    val_az = (2 * math.pi * (np.arange(n_val) + 0.25) / max(n_val, 1) + 0.11) % (2 * math.pi)
    val_el = elevations(n_val, 0.3)[::-1]
    test_az = (2 * math.pi * (np.arange(n_test) + 0.75) / max(n_test, 1) + 0.07) % (2 * math.pi)
    test_el = elevations(n_test, 0.7)
    return {
        "train": list(zip(train_az, train_el)),
        "val": list(zip(val_az, val_el)),
        "test": list(zip(test_az, test_el)),
    }


def write_scene(out: Path, size: int, n_train: int, n_val: int, n_test: int, quiet: bool = False) -> None:
    out = Path(out)
    positions = camera_positions(n_train, n_val, n_test)
    for split, views in positions.items():
        if not views:  # a split with no views is left out (a loader skips a missing val/test file)
            continue
        (out / split).mkdir(parents=True, exist_ok=True)
        for stale in (out / split).glob("r_*.png"):
            stale.unlink()
        frames = []
        for index, (az, el) in enumerate(views):
            c2w = look_at_origin(float(az), float(el))
            rgba = render_view(c2w, size)
            name = f"r_{index}"
            Image.fromarray(rgba, mode="RGBA").save(out / split / f"{name}.png", optimize=True)
            frames.append({
                "file_path": f"./{split}/{name}",
                "transform_matrix": [[float(v) for v in row] for row in c2w],
            })
        meta = {"camera_angle_x": CAMERA_ANGLE_X, "frames": frames}
        with open(out / f"transforms_{split}.json", "w", encoding="utf-8") as handle:
            json.dump(meta, handle, indent=4)
            handle.write("\n")
        if not quiet:
            print(f"{split}: {len(frames)} views -> {out / split}", file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--size", type=int, default=64, help="image width and height in pixels (default: 64)")
    parser.add_argument("--train", type=int, default=40, help="number of training views (default: 40)")
    parser.add_argument("--val", type=int, default=8, help="number of validation views (default: 8)")
    parser.add_argument("--test", type=int, default=8, help="number of test views (default: 8)")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    if args.size < 1:
        parser.error("--size must be positive")
    if args.train < 1 or args.val < 0 or args.test < 0:
        parser.error("--train must be at least 1; --val and --test must not be negative")
    write_scene(args.out, args.size, args.train, args.val, args.test, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
