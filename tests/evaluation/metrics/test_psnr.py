"""PSNR = -10 log10(MSE) of the unclamped float prediction."""
import math

import numpy as np
import pytest

from jneusample.evaluation.metrics import mse, psnr


def test_constant_offset_hand_computed():
    gt = np.zeros((4, 5, 3))
    pred = np.full((4, 5, 3), 0.1)  # every squared error is 0.01 -> MSE 0.01 -> 20 dB
    assert mse(pred, gt) == pytest.approx(0.01)
    assert psnr(pred, gt) == pytest.approx(20.0)


def test_mixed_errors_hand_computed():
    gt = np.zeros((1, 2, 3))
    pred = np.array([[[0.5, 0.0, 0.0], [0.0, 0.0, 0.25]]])  # squared errors 0.25 and 0.0625 over 6 values
    expected_mse = (0.25 + 0.0625) / 6
    assert psnr(pred, gt) == pytest.approx(-10 * math.log10(expected_mse))


def test_prediction_is_not_clamped():
    gt = np.ones((2, 2, 3))
    pred = np.full((2, 2, 3), 1.5)  # clamping would make it perfect; the protocol keeps the 0.25 MSE
    assert psnr(pred, gt) == pytest.approx(-10 * math.log10(0.25))


def test_identical_is_infinite():
    img = np.random.default_rng(0).random((8, 8, 3))
    assert psnr(img, img) == math.inf


def test_shape_mismatch():
    with pytest.raises(ValueError):
        psnr(np.zeros((2, 2, 3)), np.zeros((2, 3, 3)))


def test_psnr_from_mse_is_the_same_formula():
    from jneusample.evaluation.metrics import psnr_from_mse

    pred, gt = np.full((3, 3, 3), 0.2), np.zeros((3, 3, 3))
    assert psnr_from_mse(mse(pred, gt)) == psnr(pred, gt)
    assert psnr_from_mse(0.0) == math.inf
    # a finite cap keeps logs plain JSON (train.py's 120 dB = MSE 1e-12)
    assert psnr_from_mse(0.0, max_db=120.0) == 120.0 and psnr_from_mse(1e-15, max_db=120.0) == 120.0
    assert psnr_from_mse(1e-2, max_db=120.0) == pytest.approx(20.0)
