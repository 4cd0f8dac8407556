"""Training ray batches: one view per step, or rays across all views (with the precrop window)."""
import numpy as np

from jneusample.data import load_scene
from jneusample.data.batches import RayBatcher


def _pixel_sets(scene, batch):
    """For each ray of a batch, which (view, row, col) holds its target colour (the test images are random)."""
    images = scene.split("train").images
    found = []
    for colour in batch.target:
        hits = np.argwhere(np.all(images == colour, axis=-1))
        found.append(tuple(hits[0]))
    return found


def test_one_view_per_step_by_default(blender_scene):
    scene = load_scene(blender_scene)
    sampler = RayBatcher(scene, 32, precrop_fraction=1.0, precrop_steps=0, seed=0)
    views = {v for v, _, _ in _pixel_sets(scene, sampler.sample(0))}
    assert len(views) == 1


def test_across_views_draws_from_several_views_inside_the_precrop_window(blender_scene):
    scene = load_scene(blender_scene)  # 4 train views of 16x16
    sampler = RayBatcher(scene, 64, precrop_fraction=0.5, precrop_steps=5, seed=0, across_views=True)
    cropped = _pixel_sets(scene, sampler.sample(0))
    assert len({v for v, _, _ in cropped}) > 1
    assert all(4 <= r < 12 and 4 <= c < 12 for _, r, c in cropped)  # the central 8x8 box
    later = _pixel_sets(scene, sampler.sample(10))
    assert any(not (4 <= r < 12 and 4 <= c < 12) for _, r, c in later)


def test_across_views_batches_resume_identically(blender_scene):
    scene = load_scene(blender_scene)
    first = RayBatcher(scene, 16, 1.0, 0, seed=3, across_views=True)
    first.sample(0)
    state = first.state_dict()
    expected = first.sample(1)
    second = RayBatcher(scene, 16, 1.0, 0, seed=3, across_views=True)
    second.load_state_dict(state)
    again = second.sample(1)
    np.testing.assert_array_equal(again.target, expected.target)
    np.testing.assert_array_equal(again.origins, expected.origins)
