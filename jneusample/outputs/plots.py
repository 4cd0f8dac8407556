"""Figures about a trained run; :func:`plot_samples` shows where the model puts its samples along rays.

NeuSample's claim is that the sample field learns to put its N samples where the compositing weights are, i.e.
on surfaces. The figure makes that visible for one view:

* for a few pixels (most on the object, some on the background), the N sample distances z_i along the ray as
  ticks (a rug), the compositing weights w_i = α_i·T_i as stems at those z_i, and the depth Σ w_i z_i / Σ w_i;
* a histogram, over all H·W rays of the view, of the sample positions normalised to t = (z − near)/(far − near)
  ∈ [0, 1], next to the histogram of the weight mass, so that one can see how much of the sampling budget goes
  where the weights are;
* the rendered image with the chosen pixels marked and numbered.

Matplotlib is used through :class:`matplotlib.figure.Figure` and its Agg canvas directly (no pyplot, no global
backend switch), so this works headless and does not disturb an interactive session that imports it.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError


@dataclass
class SampleStudy:
    """What :func:`plot_samples` draws (also useful on its own, e.g. for summary numbers in eval)."""

    scene_name: str
    split: str
    view: int
    view_name: str
    model_kind: str
    step: int
    near: float
    far: float
    ndc: bool
    image: np.ndarray
    """(H, W, 3) rendered colour in [0, 1]."""
    acc: np.ndarray
    """(H, W) accumulated opacity Σ w_i."""
    depth: np.ndarray
    """(H, W) expected depth Σ w_i z_i (not divided by acc)."""
    pixels: np.ndarray
    """(K, 2) chosen pixels as (row, col)."""
    background: np.ndarray
    """(K,) bool: the pixel was chosen as a background (low-opacity) pixel."""
    z: np.ndarray
    """(K, N) sorted sample distances of the chosen pixels' rays."""
    weights: np.ndarray
    """(K, N) compositing weights of those samples."""
    bin_edges: np.ndarray
    """(B + 1,) edges in [0, 1] of the normalised position t = (z − near)/(far − near)."""
    sample_counts: np.ndarray
    """(B,) number of samples of all H·W rays per bin."""
    weight_mass: np.ndarray
    """(B,) sum of the compositing weights of those samples per bin."""

    @property
    def samples_per_ray(self) -> int:
        return int(self.z.shape[1])

    def summary(self) -> dict[str, Any]:
        """A few numbers for logs/JSON: sample spread and how much of the weight the busiest bins hold."""
        t = (self.z - self.near) / max(self.far - self.near, 1e-12)
        fg = ~self.background
        return {
            "view": self.view, "view_name": self.view_name, "samples_per_ray": self.samples_per_ray,
            "pixels": [[int(r), int(c)] for r, c in self.pixels],
            "background": [bool(b) for b in self.background],
            "mean_acc": float(self.acc.mean()),
            "object_sample_spread": float((t[fg].max(1) - t[fg].min(1)).mean()) if fg.any() else None,
        }


def object_opacity(acc: np.ndarray, depth: np.ndarray, near: float, far: float) -> np.ndarray:
    """The opacity of what lies before the far bound: ``acc`` where the depth is short of the last 2 % of
    [near, far], else 0. A model that paints a white background as an opaque wall at the far bound (acc ≈ 1 on
    every pixel) would otherwise leave no background pixel to pick."""
    return np.where(depth < far - 0.02 * (far - near), acc, 0.0).astype(np.float32)


def choose_pixels(acc: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` pixels spread over the image: about ⅔ on the object (high opacity), the rest background.

    Candidates are the high-opacity (resp. low-opacity) pixels; among them, pixels are picked greedily farthest
    from those already picked (starting from the most (least) opaque), so they do not cluster. Deterministic.

    Args:
        acc: (H, W) accumulated opacity.
        count: number of pixels (≥ 1).
    Returns:
        (K, 2) int (row, col) and (K,) bool ``background``, K = min(count, H·W).
    """
    h, w = acc.shape
    count = min(count, h * w)
    flat = acc.ravel()
    n_bg = 0 if count == 1 else min(count - 1, max(1, count // 3))
    n_fg = count - n_bg
    order = np.argsort(-flat, kind="stable")  # most opaque first

    # Keep away from the border where possible: markers there are clipped and rays graze the frame.
    margin = max(1, min(h, w) // 16)
    rows, cols = np.divmod(np.arange(flat.size), w)
    inner = (rows >= margin) & (rows < h - margin) & (cols >= margin) & (cols < w - margin)

    fg_pool = np.flatnonzero(flat >= min(0.9, float(np.quantile(flat, 0.75))))
    if np.count_nonzero(inner[fg_pool]) >= n_fg:
        fg_pool = fg_pool[inner[fg_pool]]
    if fg_pool.size < n_fg:
        fg_pool = order[: max(n_fg, flat.size // 4)]
    fg_pool = fg_pool[np.argsort(-flat[fg_pool], kind="stable")]
    chosen = _spread(fg_pool, n_fg, w)

    bg_pool = np.flatnonzero(flat <= max(0.1, float(np.quantile(flat, 0.25))))
    bg_pool = np.setdiff1d(bg_pool, chosen)
    if np.count_nonzero(inner[bg_pool]) >= n_bg:
        bg_pool = bg_pool[inner[bg_pool]]
    if bg_pool.size < n_bg:
        bg_pool = np.setdiff1d(order[::-1][: max(n_bg + len(chosen), flat.size // 4)], chosen)
    bg_pool = bg_pool[np.argsort(flat[bg_pool], kind="stable")]
    chosen_bg = _spread(bg_pool, n_bg, w)

    flat_idx = np.concatenate([chosen, chosen_bg]).astype(np.int64)
    pixels = np.stack([flat_idx // w, flat_idx % w], axis=1)
    background = np.concatenate([np.zeros(len(chosen), bool), np.ones(len(chosen_bg), bool)])
    return pixels, background


def _spread(pool: np.ndarray, count: int, width: int) -> np.ndarray:
    """Farthest-point selection of ``count`` flat pixel indices from ``pool`` (its first element first)."""
    if count <= 0 or pool.size == 0:
        return np.zeros(0, np.int64)
    coords = np.stack([pool // width, pool % width], axis=1).astype(np.float64)
    picked = [0]
    distance = np.linalg.norm(coords - coords[0], axis=1)
    for _ in range(1, min(count, pool.size)):
        nxt = int(np.argmax(distance))
        picked.append(nxt)
        distance = np.minimum(distance, np.linalg.norm(coords - coords[nxt], axis=1))
    return pool[picked]


SAMPLE_KEYS = ("color", "acc", "depth", "z", "weights")
"""What :func:`collect_samples` asks the renderer for: the maps plus per-sample distances and weights."""
BLOCK_CHUNKS = 8
"""Render chunks per block: per block the histograms are updated and the (rays, N) arrays dropped."""


def _render_samples(model, rays: tuple[np.ndarray, np.ndarray, np.ndarray], settings, chunk_points: int,
                    run_dir: Path, kind: str) -> dict[str, np.ndarray]:
    """:func:`~jneusample.rendering.render_rays` with :data:`SAMPLE_KEYS`; a model that does not return
    matching per-sample ``z`` and ``weights`` is a one-line InputError."""
    # deferred: matplotlib and Jittor load only when a figure is drawn
    from ..rendering import render_rays

    try:
        outputs = render_rays(model, *rays, settings, chunk_points, keep=SAMPLE_KEYS)
    except KeyError:
        raise InputError(f"{run_dir}: the {kind} model does not return per-sample distances and weights "
                         "('z', 'weights'), so its samples cannot be plotted") from None
    if outputs["z"].shape != outputs["weights"].shape:
        raise InputError(f"{run_dir}: the {kind} model returns 'z' {outputs['z'].shape} and 'weights' "
                         f"{outputs['weights'].shape} of different shapes, so its samples cannot be plotted")
    return outputs


def collect_samples(run, scene, split: str = "test", view: int = 0, pixels: int = 6, bins: int = 50) -> SampleStudy:
    """Render one view of ``scene`` with ``run``'s model and gather what :func:`draw_samples` shows.

    The image is rendered by :func:`~jneusample.rendering.render_rays` in blocks of :data:`BLOCK_CHUNKS` whole
    chunks (about ``config.render.chunk_points`` points each, so the chunks are those of ``render_image``);
    per block only the histograms are updated, so memory is bounded by the block plus the (H, W) maps rather
    than growing with H·W·N.
    """
    # deferred: matplotlib and Jittor load only when a figure is drawn
    from ..data.rays import scene_rays
    from ..rendering import chunk_rays_of, render_settings

    views = scene.split(split)
    if not 0 <= view < len(views):
        raise InputError(f"--view {view}: split {split!r} of {scene.root} has views 0..{len(views) - 1}")
    if pixels < 1:
        raise InputError(f"--pixels must be a positive integer, got {pixels}")
    if bins < 1:
        raise InputError(f"--bins must be a positive integer, got {bins}")
    model, config = run.model, run.config
    settings = render_settings(scene, config, training=False)
    near, far = float(scene.near), float(scene.far)
    span = max(far - near, 1e-12)
    h, w = scene.intrinsics.height, scene.intrinsics.width
    c2w = views.c2w[view]
    rays = scene_rays(scene, c2w)
    block = BLOCK_CHUNKS * chunk_rays_of(model, config.render.chunk_points)
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.zeros(bins, np.float64)
    mass = np.zeros(bins, np.float64)
    maps: dict[str, list[np.ndarray]] = {"color": [], "acc": [], "depth": []}
    for start in range(0, h * w, block):
        part = tuple(array[start:start + block] for array in rays)
        outputs = _render_samples(model, part, settings, config.render.chunk_points, run.run_dir, config.model.kind)
        for key, chunks in maps.items():
            chunks.append(outputs[key])
        t = np.clip((outputs["z"] - near) / span, 0.0, 1.0).ravel()
        counts += np.histogram(t, bins=edges)[0]
        mass += np.histogram(t, bins=edges, weights=outputs["weights"].ravel())[0]
    colour, acc, depth = (np.concatenate(maps[key]) for key in ("color", "acc", "depth"))
    acc_map = acc.reshape(h, w)
    chosen, background = choose_pixels(object_opacity(acc_map, depth.reshape(h, w), near, far), pixels)
    picked = _render_samples(model, scene_rays(scene, c2w, chosen[:, 1], chosen[:, 0]), settings,
                             config.render.chunk_points, run.run_dir, config.model.kind)
    return SampleStudy(
        scene_name=scene.name, split=split, view=view, view_name=views.names[view] if views.names else str(view),
        model_kind=config.model.kind, step=run.step, near=near, far=far, ndc=scene.ndc,
        image=np.clip(colour.reshape(h, w, 3), 0.0, 1.0), acc=acc_map, depth=depth.reshape(h, w),
        pixels=chosen, background=background, z=picked["z"], weights=picked["weights"],
        bin_edges=edges, sample_counts=counts, weight_mass=mass,
    )


def draw_samples(study: SampleStudy):
    """The figure for a :class:`SampleStudy` (a :class:`matplotlib.figure.Figure`, Agg canvas)."""
    # deferred: matplotlib and Jittor load only when a figure is drawn
    from matplotlib.figure import Figure

    k = len(study.pixels)
    cols = 2 if k > 1 else 1
    rows = int(np.ceil(k / cols))
    fig = Figure(figsize=(6.0 + 4.6 * cols, max(7.5, 2.3 * rows + 1.0)), layout="constrained")
    outer = fig.add_gridspec(1, 2, width_ratios=[1.0, 1.15 * cols])
    left = outer[0].subgridspec(2, 1, height_ratios=[1.25, 1.0])
    palette = [f"C{i}" for i in range(10)]
    unit = "NDC t" if study.ndc else "distance along the ray"

    ax = fig.add_subplot(left[0])
    ax.imshow(study.image, interpolation="nearest")
    h, w = study.acc.shape
    for i, ((r, c), bg) in enumerate(zip(study.pixels, study.background)):
        colour = palette[i % len(palette)]
        ax.plot(c, r, marker="s" if bg else "o", markersize=9, markerfacecolor="none", markeredgewidth=2,
                color=colour)
        ax.annotate(str(i + 1), (c, r), xytext=(5, 5), textcoords="offset points", color=colour,
                    fontsize=11, fontweight="bold")
    ax.set_title(f"rendered {study.split} view {study.view} ({study.view_name}), {w}x{h}\n"
                 "o: object pixels, □: background pixels", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])

    ax = fig.add_subplot(left[1])
    widths = np.diff(study.bin_edges)
    centres = study.bin_edges[:-1] + widths / 2
    sample_share = study.sample_counts / max(study.sample_counts.sum(), 1.0)
    weight_share = study.weight_mass / max(study.weight_mass.sum(), 1e-12)
    ax.bar(centres, sample_share, width=widths, color="0.6", label="samples (all rays)")
    ax.step(study.bin_edges, np.append(weight_share, weight_share[-1]), where="post", color="C3", linewidth=1.6,
            label="compositing weight")
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel(f"(z − near) / (far − near)   [near = {study.near:g}, far = {study.far:g}]")
    ax.set_ylabel("share per bin")
    ax.set_title(f"sample positions over all {h * w} rays × {study.samples_per_ray} samples", fontsize=10)
    ax.set_ylim(0.0, 1.3 * max(float(sample_share.max()), float(weight_share.max()), 1e-6))
    ax.legend(fontsize=9, loc="best", framealpha=0.9)

    right = outer[1].subgridspec(rows, cols)
    for i in range(k):
        ax = fig.add_subplot(right[i // cols, i % cols])
        z, wts = study.z[i], study.weights[i]
        colour = palette[i % len(palette)]
        top = max(float(wts.max()), 1e-3) * 1.15
        markerline, stemlines, baseline = ax.stem(z, wts, linefmt=colour, markerfmt="o", basefmt=" ")
        markerline.set_markersize(3.5)
        markerline.set_color(colour)
        stemlines.set_linewidth(1.2)
        # The rug: one tick per sample below the zero line, so the samples show even where weights are ~0.
        ax.vlines(z, -0.16 * top, -0.04 * top, color="0.25", linewidth=0.8)
        total = float(wts.sum())
        label = f"#{i + 1} ({'background' if study.background[i] else 'object'}) " \
                f"row {study.pixels[i][0]}, col {study.pixels[i][1]}: acc {total:.2f}"
        if total > 0.05:
            expected = float((wts * z).sum() / total)
            ax.axvline(expected, color="k", linestyle="--", linewidth=1.0)
            label += f", depth {expected:.3g}"
        ax.set_title(label, fontsize=9, color=colour)
        ax.set_xlim(study.near, study.far)
        ax.set_ylim(-0.18 * top, top)
        ax.axhline(0.0, color="0.7", linewidth=0.6)
        ax.tick_params(labelsize=8)
        if i // cols == rows - 1 or i + cols >= k:
            ax.set_xlabel(unit, fontsize=9)
        if i % cols == 0:
            ax.set_ylabel("weight $w_i$", fontsize=9)
    fig.suptitle(f"{study.model_kind}, {study.samples_per_ray} samples per ray — {study.scene_name}, step "
                 f"{study.step}.  Ticks: sample positions z_i; stems: weights; dashed: depth Σw·z/Σw",
                 fontsize=11)
    return fig


def plot_samples(run, split: str = "test", view: int = 0, pixels: int = 6, bins: int = 50,
                 scene=None, data: str | None = None, factor: int | None = None,
                 checkpoint: str | None = None, samples: int | None = None):
    """Figure of where the run's model samples along rays of one view (see the module docstring).

    Args:
        run: a :class:`~jneusample.platform.runs.LoadedRun` or a run directory.
        split, view: which view to look at.
        pixels: how many pixels get their own panel.
        bins: histogram bins over [near, far].
        scene: the loaded scene (default: the one the run was trained on, at ``factor`` or the run's factor).
        data, factor, checkpoint: where to load the scene / which checkpoint, when not given.
        samples: samples per ray of a run loaded here (models that render at any N; None: the run's N).
    Returns:
        a :class:`matplotlib.figure.Figure`; save it with :func:`save_figure`.
    """
    return draw_samples(study_samples(run, split, view, pixels, bins, scene, data, factor, checkpoint, samples))


def study_samples(run, split: str = "test", view: int = 0, pixels: int = 6, bins: int = 50, scene=None,
                  data: str | None = None, factor: int | None = None, checkpoint: str | None = None,
                  samples: int | None = None) -> SampleStudy:
    """Load what is not given (run, scene; ``samples``: the N of a run loaded here) and :func:`collect_samples`."""
    from ..platform import backend  # noqa: F401  (configures Jittor before models.py imports it)
    from ..platform.runs import LoadedRun, load_run, read_scene_info, scene_folder

    if not isinstance(run, LoadedRun):
        run = load_run(run, checkpoint, samples=samples)
    if scene is None:
        from ..data import load_scene  # only when no scene is given

        info = read_scene_info(run.run_dir)
        scene = load_scene(scene_folder(run.run_dir, info, data), factor=factor or info.factor,
                           allow_outside=info.allow_outside_paths)
    return collect_samples(run, scene, split=split, view=view, pixels=pixels, bins=bins)


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically (rendered in memory, then temp file + rename)."""
    # deferred: matplotlib and Jittor load only when a figure is drawn
    from ..platform.fileio import atomic_write_bytes

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)
