""":mod:`jneusample.outputs.viewer`: cameras, frame sizes, rendering a browser camera, picked samples; and end to end in a
real headless Chromium (skipped, with the reason, where chromium or chromedriver is not installed)."""
from __future__ import annotations

import dataclasses
import socket

import numpy as np
import pytest

from conftest import JNEUSAMPLE, failure_output, run_command

pytest.importorskip("viser", reason="the viewer needs viser (pip install viser==1.1.1)")

from jneusample.errors import InputError  # noqa: E402
from jneusample.outputs.viewer import (ViewCamera, Viewer, ViewerOptions, c2w_from_viser, check_port_free, frame_size,
    is_loopback, moving_pixels, vertical_fov, view_intrinsics, viser_pose)


@pytest.fixture(scope="module")
def any_n_run(tmp_path_factory):
    """A tiny run of the demo scene whose model renders at any N (the quantile head), trained 30 steps."""
    out = tmp_path_factory.mktemp("viewer_any_n") / "run"
    result = run_command(JNEUSAMPLE + ["train", "--preset", "tiny", "--steps", "30", "--out", str(out),
                                       "--no-progress", "--set", "model.sample_field_head=quantile"])
    assert result.returncode == 0, failure_output(result)
    return out


def test_viser_pose_round_trip_and_axes():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rotation = q * np.sign(np.linalg.det(q))  # a proper rotation
    c2w = np.concatenate([rotation, [[1.0], [-2.0], [3.0]]], axis=1)
    wxyz, position = viser_pose(c2w)
    np.testing.assert_allclose(c2w_from_viser(wxyz, position), c2w, atol=1e-9)
    from viser.transforms import SO3

    opencv = SO3(wxyz).as_matrix()
    # OpenCV looks along +z and has y down; our OpenGL camera looks along −z with y up: the same directions.
    np.testing.assert_allclose(opencv[:, 2], -c2w[:, 2], atol=1e-9)
    np.testing.assert_allclose(opencv[:, 1], -c2w[:, 1], atol=1e-9)


def test_view_intrinsics_match_the_scene_camera():
    from jneusample.data.scene import Intrinsics

    scene_camera = Intrinsics(width=64, height=48, fx=70.0, fy=70.0, cx=32.0, cy=24.0)
    same = view_intrinsics(vertical_fov(scene_camera), 64, 48)
    assert dataclasses.astuple(same) == pytest.approx(dataclasses.astuple(scene_camera))
    half = view_intrinsics(vertical_fov(scene_camera), 32, 24)
    assert half.fy == pytest.approx(35.0) and half.cx == 16.0


def test_frame_sizes():
    assert frame_size(1.0, 10_000) == (100, 100)
    width, height = frame_size(2.0, 20_000)
    assert (width, height) == (200, 100)
    assert frame_size(1.0, 1) == (8, 8)  # never smaller than 8 pixels a side
    # Moving frames: what the measured rate renders in 1/fps seconds, within [minimum, full frame].
    assert moving_pixels(40_000.0, 4.0, 10_000) == 10_000
    assert moving_pixels(20_000.0, 4.0, 10_000) == 5_000
    assert moving_pixels(100.0, 4.0, 10_000) == 24 * 24
    assert moving_pixels(None, 4.0, 10_000) == 2_500


def test_loopback_and_port_checks():
    assert is_loopback("127.0.0.1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    with pytest.raises(InputError, match="cannot be resolved"):
        is_loopback("no-such-host.invalid")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InputError, match=f"--port {port}: cannot serve on 127.0.0.1:{port}"):
            check_port_free("127.0.0.1", port)


def test_browser_camera_renders_like_the_scene_camera(run_dir):
    """A viewer camera at a test view's pose, field of view and size gives exactly eval's render of that view."""
    from jneusample.rendering import render_image
    from jneusample.outputs.viewer import render_view

    viewer = Viewer(run_dir, ViewerOptions(port=0))
    assert not viewer.any_n and viewer.samples_per_ray == 8  # the paper head: a fixed N, no slider
    scene = viewer.scene
    c2w = scene.split("test").c2w[1]
    wxyz, position = viser_pose(c2w)  # through viser's convention and back, as a browser camera arrives
    camera = ViewCamera(c2w=c2w_from_viser(wxyz, position), fov_y=vertical_fov(scene.intrinsics),
                        width=scene.intrinsics.width, height=scene.intrinsics.height)
    outputs, seconds = render_view(viewer.run.model, scene, camera, viewer.settings, viewer.chunk_points)
    expected = render_image(viewer.run.model, scene, c2w, viewer.settings, viewer.chunk_points)
    assert seconds > 0
    for key in ("color", "depth", "acc"):
        np.testing.assert_allclose(outputs[key], expected[key], atol=1e-4)


def test_picked_pixel_samples_lie_on_its_ray(run_dir):
    from jneusample.outputs.viewer import pixel_samples, samples_figure

    viewer = Viewer(run_dir, ViewerOptions(port=0))
    scene = viewer.scene
    c2w = scene.split("test").c2w[0]
    camera = ViewCamera(c2w=c2w, fov_y=vertical_fov(scene.intrinsics), width=64, height=64)
    # Pixel (32, 32) is the principal point (cx = cy = 32): its ray is the camera's axis.
    picked = pixel_samples(viewer.run.model, scene, camera, 32.0, 32.0, viewer.settings, viewer.chunk_points)
    assert picked.z.shape == picked.weights.shape == (8,)
    assert np.all(np.diff(picked.z) >= 0) and scene.near <= picked.z.min() and picked.z.max() <= scene.far
    # The samples sit at distance z in front of the camera, along its axis.
    expected = c2w[:3, 3][None, :] - picked.z[:, None] * c2w[:3, 2][None, :]
    np.testing.assert_allclose(picked.positions, expected, atol=1e-4)
    assert picked.acc == pytest.approx(float(picked.weights.sum()), abs=1e-4)
    figure = samples_figure(picked, scene.near, scene.far, 8)
    assert figure.ndim == 3 and figure.shape[2] == 3 and figure.std() > 5


def test_any_n_model_slider_psnr_and_follow(any_n_run):
    """Without a browser: N changes, the validation PSNR of an N, and --follow picking up a newer checkpoint."""
    from jneusample.outputs.viewer import validation_psnr

    viewer = Viewer(any_n_run, ViewerOptions(port=0, psnr_views=2))
    assert viewer.any_n and viewer.samples_per_ray == 8
    viewer.run.model.set_points_per_ray(16)
    value, views, split = validation_psnr(viewer.run.model, viewer.scene, viewer.settings, viewer.chunk_points, 2)
    assert views == 2 and split == "val" and 3.0 < value < 60.0
    with pytest.raises(InputError, match="samples per ray must be at least 2"):
        viewer.run.model.set_points_per_ray(1)


def test_run_without_a_renderable_model_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="run directory does not exist"):
        Viewer(tmp_path / "missing", ViewerOptions(port=0))
    with pytest.raises(InputError, match="--resolution must be between"):
        Viewer(tmp_path, ViewerOptions(port=0, resolution=2))


# ----------------------------------------------------------------------------------------------------------------
# End to end in a real browser
# ----------------------------------------------------------------------------------------------------------------

def _needs_browser():
    from jneusample.outputs.browser import find_chromium

    if find_chromium() is None:
        pytest.skip("needs chromium and chromedriver (apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium", reason="needs selenium (pip install selenium)")


def _canvas_region(screenshot: np.ndarray, canvas) -> np.ndarray:
    """The pixels of the page's WebGL canvas in a screenshot (device pixel ratio 1 in headless Chromium)."""
    x, y = int(canvas.location["x"]), int(canvas.location["y"])
    width, height = int(canvas.size["width"]), int(canvas.size["height"])
    return screenshot[y:y + height, x:x + width]


def _screenshot(driver) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")).astype(np.float64)


def _scene_canvas(driver):
    from selenium.webdriver.common.by import By

    canvases = driver.find_elements(By.TAG_NAME, "canvas")
    return max(canvases, key=lambda c: c.size["width"] * c.size["height"])  # the 3D view, not a GUI widget


def _resized(image: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR)).astype(np.float64)


def test_browser_shows_the_render_and_a_drag_renders_a_new_pose(any_n_run, tmp_path):
    """Headless Chromium loads the page; its screenshot shows the frame our model rendered for the browser's
    camera; a mouse drag on the canvas moves the camera and the server renders that new pose; a click shows the
    samples of the ray under the cursor."""
    _needs_browser()
    from selenium.webdriver.common.action_chains import ActionChains

    from jneusample.outputs.browser import open_chromium, wait_until

    with Viewer(any_n_run, ViewerOptions(port=0, psnr_views=2)) as viewer:
        assert viewer.url.startswith("http://127.0.0.1:")
        driver = open_chromium(viewer.url, width=1000, height=700)
        try:
            assert wait_until(lambda: any(f.full for f in viewer.frames), 120), "no full-resolution frame"
            first = next(f for f in viewer.frames if f.full)
            assert first.height == viewer.scene.intrinsics.height  # full resolution: the run's image height
            assert len(viewer.frustums) == len(viewer.scene.split("train"))  # the training cameras are drawn
            viewer._show_cameras(False)  # and hidden (the panel's checkbox), so the whole render is visible
            canvas = _scene_canvas(driver)
            newest_full = lambda: [f for f in viewer.frames if f.full][-1]  # noqa: E731  (the browser may re-ask)
            assert wait_until(lambda: _looks_like(_canvas_region(_screenshot(driver), canvas), newest_full().image),
                              60), "the page does not show the rendered frame"
            shot = _screenshot(driver)
            from PIL import Image

            Image.fromarray(shot.astype(np.uint8)).save(tmp_path / "viewer_before.png")
            before = _canvas_region(shot, canvas)

            # Drag on the canvas: viser's orbit controls turn the camera; the browser reports the new pose.
            count = len(viewer.frames)
            ActionChains(driver).move_to_element(canvas).click_and_hold().move_by_offset(60, 0) \
                .move_by_offset(60, 20).move_by_offset(60, 0).release().perform()
            assert wait_until(lambda: len(viewer.frames) > count and viewer.frames[-1].full, 120), "no new frame"
            moved = viewer.frames[-1]
            assert np.linalg.norm(moved.c2w[:3, 3] - first.c2w[:3, 3]) > 0.05  # a different camera position
            assert not np.allclose(moved.c2w[:3, :3], first.c2w[:3, :3], atol=1e-3)
            assert wait_until(lambda: _looks_like(_canvas_region(_screenshot(driver), canvas), moved.image), 60)
            after = _canvas_region(_screenshot(driver), canvas)
            assert np.abs(after - before).mean() > 1.0  # the page changed with the new frame

            # The N slider's work (server side): a new N renders a new frame and gets its validation PSNR.
            viewer.set_samples_per_ray(16)
            assert wait_until(lambda: 16 in viewer.psnr_by_n and viewer.frames[-1].samples_per_ray == 16, 120)

            # A click on the scene shows the samples along the ray under the cursor.
            ActionChains(driver).move_to_element(canvas).click().perform()
            assert wait_until(lambda: len(viewer.picked) > 0, 60), "the click picked no ray"
            picked = viewer.picked[-1]
            assert picked.z.shape == (16,) and np.all(np.diff(picked.z) >= 0)
        finally:
            driver.quit()


def _looks_like(region: np.ndarray, frame: np.ndarray) -> bool:
    """Whether a screenshot region shows ``frame`` (stretched over it): the frame's structure is there (their
    correlation) and its colours (mean absolute difference); not a blank page (which has no structure)."""
    if region.size == 0 or frame.std() < 1.0:
        return False
    # Compare the lower left of the canvas: the GUI panel floats over the right side, and Chromium's "software
    # WebGL" notice over the top left.
    width, height = region.shape[1], region.shape[0]
    expected = _resized(frame, width, height)[int(0.3 * height):, : int(0.6 * width)]
    shown = region[int(0.3 * height):, : int(0.6 * width)]
    if shown.std() < 1.0:
        return False
    correlation = np.corrcoef(shown.mean(-1).ravel(), expected.mean(-1).ravel())[0, 1]
    return bool(correlation > 0.8 and np.abs(shown - expected).mean() < 25.0)
