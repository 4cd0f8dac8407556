"""SSIM with the protocol's scikit-image arguments, on the 8-bit-quantised prediction."""
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from jneusample.evaluation.metrics import quantize_8bit, ssim


def _images(seed=0, shape=(32, 40, 3)):
    rng = np.random.default_rng(seed)
    gt = rng.random(shape)
    pred = np.clip(gt + 0.1 * rng.standard_normal(shape), -0.2, 1.2)  # strays outside [0, 1] on purpose
    return pred, gt


def test_identical_images_give_one():
    gt = np.round(np.random.default_rng(1).random((24, 24, 3)) * 255) / 255  # already 8-bit
    assert ssim(gt, gt) == pytest.approx(1.0, abs=1e-12)


def test_matches_direct_skimage_call_with_protocol_args():
    pred, gt = _images()
    q = np.round(np.clip(pred, 0, 1) * 255) / 255
    expected = structural_similarity(q, gt, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=1.0, channel_axis=-1)
    assert ssim(pred, gt) == pytest.approx(expected, abs=1e-12)
    # ...and the protocol settings really differ from scikit-image's defaults
    default = structural_similarity(q, gt, data_range=1.0, channel_axis=-1)
    assert abs(default - expected) > 1e-4


def test_hand_checked_constant_images():
    # Constant images: all variances and the covariance are 0, so SSIM reduces to the luminance term
    # (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1) with C1 = 0.01^2, the same at every pixel.
    a, b = 0.4, 0.6
    c1 = 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    pred = np.full((16, 16, 3), a)
    gt = np.full((16, 16, 3), b)
    assert quantize_8bit(pred)[0, 0, 0] == pytest.approx(round(a * 255) / 255)
    a_q = round(a * 255) / 255
    expected_q = (2 * a_q * b + c1) / (a_q * a_q + b * b + c1)
    assert ssim(pred, gt) == pytest.approx(expected_q, abs=1e-12)
    assert expected_q == pytest.approx(expected, abs=1e-3)


def test_quantisation():
    x = np.array([-0.1, 0.0, 0.5, 0.999, 1.3, 1 / 510 + 1e-9])
    np.testing.assert_allclose(quantize_8bit(x), [0, 0, 128 / 255, 1, 1, 1 / 255])


def test_too_small_raises():
    img = np.zeros((10, 20, 3))
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(img, img)
