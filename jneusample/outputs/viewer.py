"""``jneusample view``: a live web viewer of a run, rendered with the run's own model in Jittor, shown by viser.

The browser draws the scene with three.js: the training cameras as frustums, and as the background the image our
model renders for the browser's camera. One render thread does all Jittor work (renders, N changes, validation
PSNR, sample rays, checkpoint reloads); viser's callbacks only record what was asked and wake it.

Resolution: while the camera moves a frame gets as many pixels as the measured rays/s render in
1 / :attr:`ViewerOptions.moving_fps` seconds; once the camera has been still for
:attr:`ViewerOptions.settle_seconds`, the same view is rendered again at full resolution (the run's image height,
at the browser's aspect ratio). Rendering is float32: bfloat16 matmuls need avx512_bf16, which the development
machine does not have.

Poses: viser cameras follow OpenCV (x right, y down, z forward); our c2w matrices follow OpenGL/NeRF (x right,
y up, z backward), so the two rotations differ by diag(1, −1, −1) on the camera side.

Served on loopback unless another host is asked for; never through a public share link or tunnel.
"""
from __future__ import annotations

import collections
import ipaddress
import math
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

MODES = ("rgb", "depth", "opacity")
"""What the background shows: colour, depth (near = white), accumulated opacity Σ w_i."""
OPENCV_FROM_OPENGL = np.diag([1.0, -1.0, -1.0])
"""Camera-axis flip between OpenGL/NeRF (our c2w) and OpenCV (viser) camera frames; its own inverse."""
MIN_MOVING_PIXELS = 24 * 24
"""Fewest pixels of a frame rendered while the camera moves (below this the picture says nothing)."""
MAX_SLIDER_SAMPLES = 256
"""Largest N the samples-per-ray slider offers (more is allowed by ``--samples``-style API, not by the slider)."""
THUMBNAIL_PIXELS = 48
"""Height of the training images shown inside the camera frustums (small: every browser receives them all)."""


@dataclass
class ViewerOptions:
    host: str = "127.0.0.1"
    """Interface to serve on; loopback unless asked otherwise."""
    port: int = 8080
    """TCP port (0: any free port, for tests)."""
    checkpoint: str | None = None
    """Checkpoint to show (as ``eval --checkpoint``); None: the newest."""
    follow: bool = False
    """Reload the newest checkpoint while the run trains."""
    follow_seconds: float = 5.0
    """How often ``follow`` looks for a newer checkpoint."""
    data: str | None = None
    """Scene folder (default: the run's)."""
    factor: int | None = None
    """Downscale factor of the scene (default: the run's); sets the full resolution."""
    resolution: int | None = None
    """Full-resolution frame height in pixels (default: the scene's image height at ``factor``)."""
    moving_fps: float = 4.0
    """Frame rate aimed at while the camera moves (sets the moving resolution from the measured rays/s)."""
    settle_seconds: float = 0.3
    """The camera counts as stopped this long after its last move."""
    psnr_views: int = 4
    """Validation views rendered for the PSNR of the chosen N (their first views)."""


def check_options(options: ViewerOptions) -> None:
    """One-line errors for option values, before anything is loaded."""
    if not 0 <= options.port <= 65535:
        raise InputError(f"--port must be between 0 and 65535, got {options.port}")
    if options.factor is not None and options.factor < 1:
        raise InputError(f"--factor must be a positive integer, got {options.factor}")
    if options.resolution is not None and not 8 <= options.resolution <= 4096:
        raise InputError(f"--resolution must be between 8 and 4096 pixels, got {options.resolution}")
    if not options.moving_fps > 0:
        raise InputError(f"--moving-fps must be positive, got {options.moving_fps:g}")
    if options.psnr_views < 0:
        raise InputError(f"--psnr-views must be 0 or more, got {options.psnr_views}")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) resolves only to loopback addresses; unresolvable: an InputError."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as error:
        raise InputError(f"--host {host}: cannot be resolved ({error.strerror})") from None
    return all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def check_port_free(host: str, port: int) -> None:
    """A one-line InputError when ``port`` on ``host`` is taken (viser would silently move to the next port).

    Binds as the server does (SO_REUSEADDR, which on Linux still fails while another socket listens there).
    """
    if port == 0:
        return
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise InputError(f"--port {port}: cannot serve on {host}:{port} ({error.strerror}); "
                             "choose another port") from None


# ----------------------------------------------------------------------------------------------------------------
# Cameras: viser's pose ↔ our c2w, the intrinsics of a browser view, the frame size
# ----------------------------------------------------------------------------------------------------------------

def c2w_from_viser(wxyz: np.ndarray, position: np.ndarray) -> np.ndarray:
    """(3, 4) OpenGL camera-to-world matrix of a viser camera (an OpenCV rotation quaternion and a position)."""
    # deferred: the command checks its options with this module before Jittor (and viser) start
    from viser.transforms import SO3

    rotation = SO3(np.asarray(wxyz, np.float64)).as_matrix() @ OPENCV_FROM_OPENGL
    return np.concatenate([rotation, np.asarray(position, np.float64).reshape(3, 1)], axis=1)


def viser_pose(c2w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(wxyz, position) of an OpenGL (3, 4) c2w as viser wants them (OpenCV camera axes)."""
    # deferred: the command checks its options with this module before Jittor (and viser) start
    from viser.transforms import SO3

    c2w = np.asarray(c2w, np.float64)
    return SO3.from_matrix(c2w[:3, :3] @ OPENCV_FROM_OPENGL).wxyz, c2w[:3, 3]


def view_intrinsics(fov_y: float, width: int, height: int):
    """Pinhole :class:`~jneusample.data.scene.Intrinsics` of a ``width``×``height`` frame with vertical field of
    view ``fov_y`` (radians), square pixels, principal point at the centre (the Blender loader's convention)."""
    # deferred: the command checks its options with this module before Jittor (and viser) start
    from ..data.scene import Intrinsics

    focal = 0.5 * height / math.tan(0.5 * fov_y)
    return Intrinsics(width=int(width), height=int(height), fx=focal, fy=focal, cx=width / 2.0, cy=height / 2.0)


def vertical_fov(intrinsics) -> float:
    """Vertical field of view in radians of a scene's :class:`~jneusample.data.scene.Intrinsics`."""
    return 2.0 * math.atan(0.5 * intrinsics.height / intrinsics.fy)


def frame_size(aspect: float, pixels: float) -> tuple[int, int]:
    """(width, height) of a frame of about ``pixels`` pixels at ``aspect`` = width / height (each at least 8)."""
    height = max(8, int(round(math.sqrt(max(pixels, 64.0) / aspect))))
    return max(8, int(round(height * aspect))), height


def moving_pixels(rays_per_second: float | None, moving_fps: float, full_pixels: int) -> int:
    """Pixels of a frame drawn while the camera moves: what ``rays_per_second`` renders in 1/``moving_fps``
    seconds, between :data:`MIN_MOVING_PIXELS` and the full frame's ``full_pixels``. Before any frame was timed:
    a quarter of the full frame."""
    if rays_per_second is None:
        return max(MIN_MOVING_PIXELS, full_pixels // 4)
    return int(min(full_pixels, max(MIN_MOVING_PIXELS, rays_per_second / moving_fps)))


def scene_up(c2w: np.ndarray) -> np.ndarray:
    """The unit mean of the cameras' up vectors ((n, 3, 4) OpenGL c2w): the world's up as the photographer held
    the camera (Blender scenes: +z; LLFF: about +y)."""
    up = np.asarray(c2w, np.float64)[:, :3, 1].mean(axis=0)
    norm = np.linalg.norm(up)
    return up / norm if norm > 1e-9 else np.array([0.0, 0.0, 1.0])


def frustum_scale(positions: np.ndarray) -> float:
    """Size of the drawn camera frustums: 8 % of the cameras' median distance from their centroid."""
    spread = np.linalg.norm(positions - positions.mean(axis=0), axis=1)
    return float(max(0.08 * np.median(spread), 1e-3))


def display_image(outputs: dict[str, np.ndarray], mode: str, near: float, far: float) -> np.ndarray:
    """(H, W, 3) uint8 of a render's ``color``/``depth``/``acc`` for ``mode`` (one of :data:`MODES`)."""
    # deferred: the command checks its options with this module before Jittor (and viser) start
    from .video import compose_frame
    from .visuals import grey_to_rgb, to_uint8

    if mode == "opacity":
        return grey_to_rgb(to_uint8(outputs["acc"]))
    colour, depth = compose_frame(outputs, near, far)
    return depth if mode == "depth" else colour


# ----------------------------------------------------------------------------------------------------------------
# Rendering one frame, one pixel's samples, the validation PSNR
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ViewCamera:
    """A browser camera: OpenGL c2w, vertical field of view, and the frame size it is rendered at."""

    c2w: np.ndarray
    """(3, 4) camera-to-world."""
    fov_y: float
    """Vertical field of view in radians."""
    width: int
    height: int

    @property
    def intrinsics(self):
        return view_intrinsics(self.fov_y, self.width, self.height)


def render_view(model, scene, camera: ViewCamera, settings, chunk_points: int) -> tuple[dict[str, np.ndarray], float]:
    """Render ``camera`` with ``model`` (any size, any pose; NDC scenes through the training camera's NDC);
    returns the outputs ((H, W, 3) colour, (H, W) depth and acc) and the seconds it took, synchronised."""
    # deferred: the command checks its options with this module before Jittor (and viser) start
    from ..platform.backend import jt
    from .video import render_camera

    jt.sync_all(True)
    start = time.perf_counter()
    outputs = render_camera(model, scene, camera.c2w, camera.intrinsics, settings, chunk_points)
    jt.sync_all(True)
    return outputs, time.perf_counter() - start


@dataclass
class PixelSamples:
    """Where the model samples along the ray of one pixel of a browser view."""

    pixel: tuple[float, float]
    """(col, row) in the rendered full-resolution frame (fractional: the click's position)."""
    z: np.ndarray
    """(N,) sorted sample distances along the ray (NDC t for forward-facing scenes)."""
    weights: np.ndarray
    """(N,) compositing weights."""
    positions: np.ndarray
    """(N, 3) the samples in world coordinates (NDC mapped back; NaN at NDC infinity)."""
    depth: float
    acc: float


def pixel_samples(model, scene, camera: ViewCamera, col: float, row: float, settings,
                  chunk_points: int) -> PixelSamples:
    """Render the one ray through pixel (``col``, ``row``) of ``camera`` and keep its samples and weights."""
    # deferred: the command checks its options with this module before Jittor (and viser) start
    from .export import ndc_to_world
    from ..rendering import render_rays
    from .video import camera_rays

    origins, directions, view_dirs = camera_rays(scene, camera.c2w, camera.intrinsics, cols=np.array([col]),
                                                 rows=np.array([row]))
    try:
        out = render_rays(model, origins, directions, view_dirs, settings, chunk_points,
                          keep=("z", "weights", "depth", "acc"))
    except KeyError:
        raise InputError("the model does not return per-sample distances and weights ('z', 'weights')") from None
    z, weights = out["z"][0], out["weights"][0]
    positions = origins[0][None, :].astype(np.float64) + z[:, None] * directions[0][None, :]
    if scene.ndc:
        positions = ndc_to_world(positions, scene.intrinsics, scene.ndc_near_plane)
    return PixelSamples(pixel=(float(col), float(row)), z=z, weights=weights, positions=positions,
                        depth=float(out["depth"][0]), acc=float(out["acc"][0]))


def samples_figure(samples: PixelSamples, near: float, far: float, n_label: int) -> np.ndarray:
    """(H, W, 3) uint8 picture of one ray: the sample positions t = (z − near)/(far − near) as ticks and their
    compositing weights as stems (matplotlib's Agg canvas directly, no pyplot)."""
    # deferred: the command checks its options with this module before Jittor (and viser) start
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = (samples.z - near) / max(far - near, 1e-12)
    figure = Figure(figsize=(3.2, 1.6), dpi=100)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_axes((0.14, 0.27, 0.82, 0.62))
    axes.vlines(t, 0.0, samples.weights, color="tab:red", linewidth=1.5)
    axes.plot(t, np.full_like(t, -0.04), "|", color="black", markersize=6)
    axes.set_xlim(0.0, 1.0)
    axes.set_ylim(-0.08, max(1.0, float(samples.weights.max()) * 1.05))
    axes.set_xlabel("t = (z − near) / (far − near)", fontsize=7)
    axes.set_ylabel("weight", fontsize=7)
    axes.set_title(f"N = {n_label} samples of the picked ray", fontsize=7)
    axes.tick_params(labelsize=6)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def validation_psnr(model, scene, settings, chunk_points: int, views: int) -> tuple[float, int, str]:
    """Mean PSNR (dB) of the model on the first ``views`` validation views (the test split when the scene has no
    val split); returns (PSNR, views rendered, split name)."""
    # deferred: the command checks its options with this module before Jittor (and viser) start
    from ..evaluation.metrics.psnr import psnr
    from ..rendering import render_image

    split = "val" if "val" in scene.splits and len(scene.splits["val"]) else "test"
    chosen = scene.split(split)
    count = min(views, len(chosen))
    values = [psnr(render_image(model, scene, chosen.c2w[i], settings, chunk_points)["color"], chosen.images[i])
              for i in range(count)]
    return float(np.mean(values)) if values else float("nan"), count, split


def can_render_any_n(model) -> bool:
    """Whether the model renders at any N (NeuSample's quantile head, the stratified control): it accepts its own
    N through :meth:`~jneusample.models.model.Model.set_points_per_ray`."""
    try:
        model.set_points_per_ray(model.points_per_ray)
    except InputError:
        return False
    return True


# ----------------------------------------------------------------------------------------------------------------
# The viewer
# ----------------------------------------------------------------------------------------------------------------

@dataclass
class FrameRecord:
    """One frame the viewer sent to a browser (kept for the status line, tests and benchmarks)."""

    client_id: int
    c2w: np.ndarray
    width: int
    height: int
    seconds: float
    full: bool
    """Full resolution (the camera had stopped) or a moving frame."""
    samples_per_ray: int
    mode: str
    step: int
    image: np.ndarray = field(repr=False, default=None)
    """(H, W, 3) uint8 as sent."""


@dataclass
class _ClientState:
    key: tuple | None = None
    """What the last frame showed (pose, fov, aspect, mode, N, model version); None before the first."""
    full: bool = False
    """The last frame was full resolution."""


class Viewer:
    """A viser server showing a run; :meth:`start` serves it, :meth:`stop` ends it (also a context manager)."""

    def __init__(self, run_dir: str | Path, options: ViewerOptions | None = None):
        # deferred: the command checks its options with this module before Jittor (and viser) start
        from ..data import load_scene
        from ..rendering import render_settings
        from ..platform.runs import load_run, read_scene_info, scene_folder

        self.options = options or ViewerOptions()
        check_options(self.options)
        self.loopback = is_loopback(self.options.host)
        check_port_free(self.options.host, self.options.port)  # before the model loads: a quick one-line error
        self.run_dir = Path(run_dir)
        self.run = load_run(self.run_dir, self.options.checkpoint)
        info = read_scene_info(self.run_dir)
        factor = self.options.factor or info.factor  # read_scene_info checked it
        self.scene = load_scene(scene_folder(self.run_dir, info, self.options.data), factor=factor, quiet=True,
                                allow_outside=info.allow_outside_paths)
        self.settings = render_settings(self.scene, self.run.config, training=False)
        self.chunk_points = self.run.config.render.chunk_points
        self.any_n = can_render_any_n(self.run.model)
        self.samples_per_ray = int(self.run.model.points_per_ray)
        self.full_height = self.options.resolution or self.scene.intrinsics.height
        self.rays_per_second: float | None = None
        self.mode = "rgb"
        self.model_version = 0
        self.frames: collections.deque[FrameRecord] = collections.deque(maxlen=200)
        self.picked: list[PixelSamples] = []
        self.psnr_by_n: dict[int, tuple[float, int, str]] = {}
        self._clients: dict[int, _ClientState] = {}
        self._jobs: collections.deque[tuple[str, Any]] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_follow_check = time.monotonic()
        self.server = None

    # -- serving ---------------------------------------------------------------------------------------------

    def start(self) -> "Viewer":
        """Bind the port (a one-line InputError when it is taken), build the scene and GUI, start rendering."""
        # deferred: the command checks its options with this module before Jittor (and viser) start
        import viser

        check_port_free(self.options.host, self.options.port)
        self.server = viser.ViserServer(host=self.options.host, port=self.options.port, verbose=False,
                                        label=f"JNeuSample · {self.run_dir.name}")
        if self.options.port and self.server.get_port() != self.options.port:
            # Taken between our probe and viser's bind: viser moved to another port on its own; refuse instead.
            self.server.stop()
            raise InputError(f"--port {self.options.port}: already in use on {self.options.host}; "
                             "choose another port")
        self._build_scene()
        self._build_gui()
        self.server.on_client_connect(self._on_connect)
        self.server.on_client_disconnect(self._on_disconnect)
        self.server.scene.on_click()(self._on_click)
        self._thread = threading.Thread(target=self._render_loop, name="jneusample-viewer-render", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        return int(self.server.get_port())

    @property
    def url(self) -> str:
        host = self.options.host if ":" not in self.options.host else f"[{self.options.host}]"
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop the render thread and the server (idempotent)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> "Viewer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until Ctrl-C (or :meth:`stop` from another thread)."""
        try:
            while not self._stopping.wait(0.5):
                pass
        finally:
            self.stop()

    # -- scene and GUI ---------------------------------------------------------------------------------------

    def _build_scene(self) -> None:
        """Training cameras as frustums with their images; world up from the cameras; the first training
        camera as the initial view."""
        # deferred: the command checks its options with this module before Jittor (and viser) start
        from PIL import Image

        train = self.scene.split("train")
        c2w = np.asarray(train.c2w, np.float64)
        up = scene_up(c2w)
        self.server.scene.set_up_direction(tuple(up))
        intrinsics = self.scene.intrinsics
        fov_y = vertical_fov(intrinsics)
        aspect = intrinsics.width / intrinsics.height
        scale = frustum_scale(c2w[:, :3, 3])
        self.frustum_scale = scale
        thumb_size = (max(1, int(round(THUMBNAIL_PIXELS * aspect))), THUMBNAIL_PIXELS)
        self.frustums = []
        for index in range(len(train)):
            wxyz, position = viser_pose(c2w[index])
            thumbnail = np.asarray(Image.fromarray((np.clip(train.images[index], 0, 1) * 255).astype(np.uint8))
                                   .resize(thumb_size, Image.BILINEAR))
            self.frustums.append(self.server.scene.add_camera_frustum(
                f"/training_cameras/{index:04d}", fov=fov_y, aspect=aspect, scale=scale, thickness=0.06 * scale,
                color=(40, 90, 200), image=thumbnail, format="jpeg", wxyz=wxyz, position=position))
        # Start at the first training camera, looking at the middle of its ray range; its own frustum (with its
        # image a frustum's length in front of the eye) would cover the whole view, so it is not drawn.
        self.frustums[0].visible = False
        start = c2w[0]
        middle = 0.5 * (self.scene.near + self.scene.far) if not self.scene.ndc else 1.0
        self.server.initial_camera.up = tuple(up)
        self.server.initial_camera.fov = fov_y
        self.server.initial_camera.position = tuple(start[:3, 3])
        self.server.initial_camera.look_at = tuple(start[:3, 3] - middle * start[:3, 2])

    def _build_gui(self) -> None:
        gui = self.server.gui
        gui.add_markdown(f"**Run** `{self.run_dir}`  \n{self.run.config.model.kind}, "
                         f"{'any N' if self.any_n else f'N = {self.samples_per_ray}'}; scene {self.scene.name}")
        self.step_text = gui.add_markdown(self._step_line())
        self.mode_input = gui.add_dropdown("show", MODES, initial_value=self.mode)
        self.mode_input.on_update(lambda _: self._set_mode(self.mode_input.value))
        self.cameras_input = gui.add_checkbox("training cameras", initial_value=True)
        self.cameras_input.on_update(lambda _: self._show_cameras(self.cameras_input.value))
        self.n_input = None
        if self.any_n:
            top = max(MAX_SLIDER_SAMPLES, self.samples_per_ray)
            self.n_input = gui.add_slider("samples per ray N", min=2, max=top, step=1,
                                          initial_value=self.samples_per_ray)
            self.n_input.on_update(lambda _: self.set_samples_per_ray(int(self.n_input.value)))
        self.frame_text = gui.add_markdown("frame: waiting for the browser's camera")
        self.psnr_text = gui.add_markdown("")
        gui.add_markdown("**Samples**: click the scene, or pick a pixel (x, y in 0–1 of the view)")
        self.pixel_input = gui.add_vector2("pixel", initial_value=(0.5, 0.5), min=(0.0, 0.0), max=(1.0, 1.0),
                                           step=0.01)
        self.pixel_button = gui.add_button("show samples at pixel")
        self.pixel_button.on_click(lambda event: self.pick_pixel(event.client_id, *self.pixel_input.value))
        self.samples_text = gui.add_markdown("")
        self.samples_image = None

    def _step_line(self) -> str:
        follow = " (following: reloads newer checkpoints)" if self.options.follow else ""
        return f"checkpoint step {self.run.step}{follow}"

    # -- callbacks (viser's threads): record and wake the render thread --------------------------------------

    def _queue(self, job: str, value: Any) -> None:
        with self._lock:
            self._jobs.append((job, value))
        self._wake.set()

    def _on_connect(self, client) -> None:
        with self._lock:
            self._clients[client.client_id] = _ClientState()
        client.camera.on_update(lambda _: self._wake.set())
        self._wake.set()

    def _on_disconnect(self, client) -> None:
        with self._lock:
            self._clients.pop(client.client_id, None)

    def _on_click(self, event) -> None:
        self._queue("pick", (event.client_id, tuple(event.screen_pos)))

    def set_samples_per_ray(self, n: int) -> None:
        """Render with N = ``n`` from the next frame on (models that render at any N; the slider calls this)."""
        if not self.any_n:
            raise InputError(f"{self.run_dir}: the {self.run.config.model.kind} model renders a fixed N")
        self._queue("samples", int(n))

    def pick_pixel(self, client_id: int, x: float, y: float) -> None:
        """Show the samples of the ray at (``x``, ``y``) ∈ [0, 1]² of a browser's view (the button calls this)."""
        self._queue("pick", (client_id, (float(x), float(y))))

    def _set_mode(self, mode: str) -> None:
        self.mode = mode
        self._wake.set()

    def _show_cameras(self, visible: bool) -> None:
        for frustum in self.frustums[1:]:  # the first stays hidden: the view starts inside it (_build_scene)
            frustum.visible = visible

    # -- the render thread -----------------------------------------------------------------------------------

    def _render_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=0.05)
            self._wake.clear()
            try:
                self._run_jobs()
                self._maybe_follow()
                for client_id, client in list(self.server.get_clients().items()):
                    self._maybe_render(client_id, client)
                self._maybe_psnr()
            except InputError as error:  # e.g. a reload that failed: say so in the panel, keep serving
                self.frame_text.content = f"error: {error}"
            except Exception as error:  # noqa: BLE001 - a browser gone mid-frame must not kill the viewer
                if self._stopping.is_set():
                    return
                self.frame_text.content = f"error: {type(error).__name__}: {error}"

    def _run_jobs(self) -> None:
        while True:
            with self._lock:
                if not self._jobs:
                    return
                job, value = self._jobs.popleft()
            if job == "samples":
                self.run.model.set_points_per_ray(value)
                self.samples_per_ray = value
                self.model_version += 1
            elif job == "pick":
                self._pick(*value)

    def camera_of(self, client, full: bool) -> ViewCamera:
        """The browser camera of ``client`` at the full or the moving resolution."""
        state = client.camera
        aspect = state.image_width / max(1, state.image_height)
        full_pixels = self.full_height * max(8, int(round(self.full_height * aspect)))
        pixels = full_pixels if full else moving_pixels(self.rays_per_second, self.options.moving_fps, full_pixels)
        width, height = frame_size(aspect, pixels)
        return ViewCamera(c2w=c2w_from_viser(state.wxyz, state.position), fov_y=float(state.fov),
                          width=width, height=height)

    def _maybe_render(self, client_id: int, client) -> None:
        state = self._clients.setdefault(client_id, _ClientState())
        camera = client.camera
        key = (tuple(np.round(camera.wxyz, 6)), tuple(np.round(camera.position, 6)), round(float(camera.fov), 6),
               camera.image_width, camera.image_height, self.mode, self.samples_per_ray, self.model_version)
        moving = time.time() - camera.update_timestamp < self.options.settle_seconds
        if key == state.key and (state.full or moving):
            return  # unchanged; a moving frame is redone at full size by a later pass (the loop's 50 ms wait)
        full = not moving
        view = self.camera_of(client, full)
        outputs, seconds = render_view(self.run.model, self.scene, view, self.settings, self.chunk_points)
        image = display_image(outputs, self.mode, self.scene.near, self.scene.far)
        client.scene.set_background_image(image, format="jpeg", jpeg_quality=90)
        rate = view.width * view.height / max(seconds, 1e-6)
        self.rays_per_second = rate if self.rays_per_second is None else 0.5 * (self.rays_per_second + rate)
        state.key, state.full = key, full
        self.frames.append(FrameRecord(client_id=client_id, c2w=view.c2w, width=view.width, height=view.height,
                                       seconds=seconds, full=full, samples_per_ray=self.samples_per_ray,
                                       mode=self.mode, step=self.run.step, image=image))
        self.frame_text.content = (f"frame: {view.width}×{view.height} "
                                   f"({'full' if full else 'moving'}) in {seconds * 1000:.0f} ms at "
                                   f"N = {self.samples_per_ray}; {self.rays_per_second / 1000:.1f}k rays/s")

    def _maybe_psnr(self) -> None:
        """The validation PSNR of the current N, once per N (only for models that render at any N)."""
        if not self.any_n or self.options.psnr_views == 0 or self.samples_per_ray in self.psnr_by_n:
            return
        if not self.frames:
            return  # the first frame first
        self.psnr_text.content = f"val PSNR at N = {self.samples_per_ray}: computing…"
        value, views, split = validation_psnr(self.run.model, self.scene, self.settings, self.chunk_points,
                                              self.options.psnr_views)
        self.psnr_by_n[self.samples_per_ray] = (value, views, split)
        self.psnr_text.content = (f"{split} PSNR at N = {self.samples_per_ray}: **{value:.2f} dB** "
                                  f"({views} views)")

    def _pick(self, client_id: int, screen_pos: tuple[float, float]) -> None:
        """Show the samples of the ray under ``screen_pos`` ((x, y) in [0, 1] of ``client_id``'s view)."""
        client = self.server.get_clients().get(client_id)
        if client is None:
            return
        view = self.camera_of(client, full=True)
        col = float(np.clip(screen_pos[0], 0.0, 1.0)) * view.width - 0.5
        row = float(np.clip(screen_pos[1], 0.0, 1.0)) * view.height - 0.5
        samples = pixel_samples(self.run.model, self.scene, view, col, row, self.settings, self.chunk_points)
        self.picked.append(samples)
        weights = samples.weights / max(float(samples.weights.max()), 1e-6)
        colours = np.stack([np.full_like(weights, 1.0), 1.0 - weights, 1.0 - weights], axis=1)
        finite = np.all(np.isfinite(samples.positions), axis=1)
        self.server.scene.add_point_cloud("/picked_ray/samples", samples.positions[finite].astype(np.float32),
                                          (colours[finite] * 255).astype(np.uint8),
                                          point_size=0.25 * self.frustum_scale, point_shape="circle")
        figure = samples_figure(samples, self.scene.near, self.scene.far, len(samples.z))
        if self.samples_image is None:
            self.samples_image = self.server.gui.add_image(figure, label="samples along the picked ray",
                                                           format="png")
        else:
            self.samples_image.image = figure
        self.samples_text.content = (f"pixel ({col:.0f}, {row:.0f}) of {view.width}×{view.height}: "
                                     f"opacity {samples.acc:.2f}, {len(samples.z)} samples")

    # -- --follow --------------------------------------------------------------------------------------------

    def _maybe_follow(self) -> None:
        """With ``follow``: every ``follow_seconds`` load the newest checkpoint when it is newer than ours."""
        # deferred: the command checks its options with this module before Jittor (and viser) start
        from ..platform.checkpoint import list_checkpoints
        from ..platform.runs import load_run

        if not self.options.follow or time.monotonic() - self._last_follow_check < self.options.follow_seconds:
            return
        self._last_follow_check = time.monotonic()
        found = list_checkpoints(self.run_dir)
        if not found or found[-1][0] <= self.run.step:
            return
        self.reload(load_run(self.run_dir, None, samples=self.samples_per_ray if self.any_n else None))

    def reload(self, run) -> None:
        """Show ``run`` (a newer checkpoint of the same run) from the next frame on."""
        self.run = run
        self.model_version += 1
        self.psnr_by_n.clear()
        self.step_text.content = self._step_line()
        self._wake.set()


def view(run_dir: str | Path, options: ViewerOptions) -> None:
    """Serve the viewer until Ctrl-C (the ``jneusample view`` command)."""
    viewer = Viewer(run_dir, options)
    viewer.start()
    print(f"viewer: {viewer.url} (step {viewer.run.step}; Ctrl-C stops it)", flush=True)
    viewer.serve_forever()
