"""Linear + ReLU layers: single oneDNN matmuls with the bias and ReLU fused in, and a lean backward for training.

Jittor runs ``relu(x @ Wᵀ + b)`` as a oneDNN sgemm followed by a separate single-threaded pass that re-reads the
(P, width) result to add the bias and clamp it; at NeRF's sizes that pass costs about a quarter of the render
time (docs/performance.md). oneDNN's matmul primitive applies the bias and the ReLU while the output tile is
still in registers, so they become free. :func:`fused_linear` runs that primitive through ``jt.code``, with the
same values as the plain path (the same products, summed in oneDNN's order).

It is used only where it can be: on the CPU, with Jittor's oneDNN, and after a self-check on first use;
everywhere else (CUDA, no oneDNN, ``JNEUSAMPLE_FUSED_LINEAR=0``) :func:`fused_linear` returns ``None`` and
callers take the plain path.

Training (:func:`linear_relu` with gradients wanted) goes through :class:`LinearReLU`, a ``jt.Function`` with
a hand-written backward: ``g = dy·[y > 0]``, ``dx_i = g W_i``, ``dW_i = gᵀ x_i``, ``db = Σ_rows g``. Jittor's own
ReLU backward is a ``ternary`` on a saved boolean mask, which Jittor's CPU kernel runs far below memory speed
(a quarter of a training step in the profile of docs/performance.md); the mask product is one streaming pass.
Its forward is the fused oneDNN op where available, the plain ops elsewhere (CUDA included), so the values are
the inference path's. With ``bf16`` the three matmuls of a layer round their operands to bfloat16 (oneDNN,
avx512_bf16) and accumulate in float32 (``train.bf16_matmuls``).
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from .. import backend
from ..backend import jt

_STATE: dict[str, bool | None] = {"ok": None}

_HEADER = "#include <dnnl.h>\n#include <cstring>\n#include <vector>\n"

_PROLOGUE = r"""
    static dnnl_engine_t engine = nullptr;
    static dnnl_stream_t stream = nullptr;
    if (!engine) {
        CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success);
        CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) == dnnl_success);
    }
    // float32 → bfloat16, rounding to nearest even (finite inputs)
    auto to_bf16 = [](const float* src, std::vector<uint16_t>& dst, size_t n) {
        dst.resize(n);
        for (size_t i = 0; i < n; i++) {
            uint32_t bits;
            std::memcpy(&bits, src + i, 4);
            dst[i] = (uint16_t)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
        }
    };
    (void)to_bf16;
"""

# One oneDNN matmul C (M, N) [+]= A (M, K) · B (K, N) [+ bias], [ReLU]. A and B are Jittor inputs ``in{a}`` and
# ``in{b}`` read in the layout ``a_tag``/``b_tag`` ('ab': row-major as given; 'ba': the transpose of a row-major
# array), so no transposed copy is materialised. ``accumulate`` adds to C (a sum post-op); with ``bf16`` A and
# B are rounded to bfloat16 first (float32 accumulation and output).
_TERM = r"""
    {{
        const dnnl_dim_t K = {k};
        const dnnl_data_type_t dt = {bf16} ? dnnl_bf16 : dnnl_f32;
        std::vector<uint16_t> a16, b16;
        const void* a_ptr = in{a}_p;
        const void* b_ptr = in{b}_p;
        if ({bf16}) {{
            to_bf16(in{a}_p, a16, (size_t)M * K); a_ptr = a16.data();
            to_bf16(in{b}_p, b16, (size_t)K * N); b_ptr = b16.data();
        }}
        dnnl_memory_desc_t a_md, b_md, bias_md, c_md;
        dnnl_dims_t a_dims = {{M, K}}, b_dims = {{K, N}}, bias_dims = {{1, N}}, c_dims = {{M, N}};
        CHECK(dnnl_memory_desc_init_by_tag(&a_md, 2, a_dims, dt, dnnl_{a_tag}) == dnnl_success);
        CHECK(dnnl_memory_desc_init_by_tag(&b_md, 2, b_dims, dt, dnnl_{b_tag}) == dnnl_success);
        CHECK(dnnl_memory_desc_init_by_tag(&bias_md, 2, bias_dims, dnnl_f32, dnnl_ab) == dnnl_success);
        CHECK(dnnl_memory_desc_init_by_tag(&c_md, 2, c_dims, dnnl_f32, dnnl_ab) == dnnl_success);
        dnnl_matmul_desc_t desc;
        CHECK(dnnl_matmul_desc_init(&desc, &a_md, &b_md, {has_bias} ? &bias_md : nullptr, &c_md) == dnnl_success);
        dnnl_post_ops_t post_ops;
        CHECK(dnnl_post_ops_create(&post_ops) == dnnl_success);
        if ({accumulate}) CHECK(dnnl_post_ops_append_sum(post_ops, 1.f) == dnnl_success);
        if ({relu}) CHECK(dnnl_post_ops_append_eltwise(post_ops, 1.f, dnnl_eltwise_relu, 0.f, 0.f) == dnnl_success);
        dnnl_primitive_attr_t attr;
        CHECK(dnnl_primitive_attr_create(&attr) == dnnl_success);
        CHECK(dnnl_primitive_attr_set_post_ops(attr, post_ops) == dnnl_success);
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_primitive_desc_create(&pd, &desc, attr, engine, nullptr) == dnnl_success);
        dnnl_primitive_t prim;
        CHECK(dnnl_primitive_create(&prim, pd) == dnnl_success);
        dnnl_memory_t a_mem, b_mem, bias_mem = nullptr, c_mem;
        CHECK(dnnl_memory_create(&a_mem, &a_md, engine, const_cast<void*>(a_ptr)) == dnnl_success);
        CHECK(dnnl_memory_create(&b_mem, &b_md, engine, const_cast<void*>(b_ptr)) == dnnl_success);
        CHECK(dnnl_memory_create(&c_mem, &c_md, engine, out0_p) == dnnl_success);
        int n_args = 3;
        dnnl_exec_arg_t args[4] = {{{{DNNL_ARG_SRC, a_mem}}, {{DNNL_ARG_WEIGHTS, b_mem}}, {{DNNL_ARG_DST, c_mem}}}};
        if ({has_bias}) {{
            CHECK(dnnl_memory_create(&bias_mem, &bias_md, engine, in{bias}_p) == dnnl_success);
            args[n_args++] = dnnl_exec_arg_t{{DNNL_ARG_BIAS, bias_mem}};
        }}
        CHECK(dnnl_primitive_execute(prim, stream, n_args, args) == dnnl_success);
        CHECK(dnnl_stream_wait(stream) == dnnl_success);
        dnnl_memory_destroy(a_mem); dnnl_memory_destroy(b_mem); dnnl_memory_destroy(c_mem);
        if (bias_mem) dnnl_memory_destroy(bias_mem);
        dnnl_primitive_destroy(prim); dnnl_primitive_desc_destroy(pd);
        dnnl_primitive_attr_destroy(attr); dnnl_post_ops_destroy(post_ops);
    }}
"""


def _source(n_terms: int, relu: bool, bf16: bool = False) -> str:
    """``relu(Σ_i x_i @ w_iᵀ + b)``: inputs x0, w0, x1, w1, …, bias; w_i (N, K_i) is read as the (K_i, N)
    matrix in layout 'ba'. Term 0 writes (with the bias), later terms accumulate, the ReLU follows the last."""
    bias = 2 * n_terms
    parts = ["    const dnnl_dim_t M = in0->shape[0], N = in1->shape[0];\n", _PROLOGUE]
    for term in range(n_terms):
        first, last = term == 0, term == n_terms - 1
        parts.append(_TERM.format(a=2 * term, b=2 * term + 1, k=f"in{2 * term}->shape[1]", a_tag="ab", b_tag="ba",
                                  bias=bias, has_bias=int(first), accumulate=int(not first),
                                  relu=int(relu and last), bf16=int(bf16)))
    return "".join(parts)


def _grad_input_source(bf16: bool) -> str:
    """dx = g @ w: g (P, N), w (N, K) → (P, K)."""
    return ("    const dnnl_dim_t M = in0->shape[0], N = in1->shape[1];\n" + _PROLOGUE
            + _TERM.format(a=0, b=1, k="in0->shape[1]", a_tag="ab", b_tag="ab", bias=0, has_bias=0, accumulate=0,
                           relu=0, bf16=int(bf16)))


def _grad_weight_source(bf16: bool) -> str:
    """dw = gᵀ @ x: g (P, N) read as the (N, P) matrix in layout 'ba', x (P, K) → (N, K)."""
    return ("    const dnnl_dim_t M = in0->shape[1], N = in1->shape[1];\n" + _PROLOGUE
            + _TERM.format(a=0, b=1, k="in0->shape[0]", a_tag="ba", b_tag="ab", bias=0, has_bias=0, accumulate=0,
                           relu=0, bf16=int(bf16)))


def _enabled_here() -> bool:
    return (os.environ.get("JNEUSAMPLE_FUSED_LINEAR", "1") != "0" and backend.ONEDNN_AVAILABLE
            and backend.DEVICE == "cpu" and not jt.flags.use_cuda)


def _raw(terms, bias, relu: bool, bf16: bool = False) -> jt.Var:
    inputs = [v for pair in terms for v in pair] + [bias]
    rows, out = terms[0][0].shape[0], terms[0][1].shape[0]
    return jt.code((rows, out), "float32", inputs, cpu_header=_HEADER, cpu_src=_source(len(terms), relu, bf16))


def _grad_input(g: jt.Var, w: jt.Var, bf16: bool) -> jt.Var:
    """g (P, N) @ w (N, K) → (P, K) as one oneDNN matmul."""
    return jt.code((g.shape[0], w.shape[1]), "float32", [g, w], cpu_header=_HEADER, cpu_src=_grad_input_source(bf16))


def _grad_weight(g: jt.Var, x: jt.Var, bf16: bool) -> jt.Var:
    """gᵀ @ x for g (P, N), x (P, K) → (N, K) as one oneDNN matmul (no transposed copy of g)."""
    return jt.code((g.shape[1], x.shape[1]), "float32", [g, x], cpu_header=_HEADER,
                   cpu_src=_grad_weight_source(bf16))


def _self_check() -> bool:
    """Compile the op and compare it with NumPy on a small case; any failure disables the fused path."""
    rng = np.random.default_rng(0)
    x0, w0 = rng.normal(size=(37, 5)).astype(np.float32), rng.normal(size=(6, 5)).astype(np.float32)
    x1, w1 = rng.normal(size=(37, 3)).astype(np.float32), rng.normal(size=(6, 3)).astype(np.float32)
    b = rng.normal(size=6).astype(np.float32)
    expected = np.maximum(x0 @ w0.T + x1 @ w1.T + b, 0.0)
    try:
        got = _raw([(jt.array(x0), jt.array(w0)), (jt.array(x1), jt.array(w1))], jt.array(b), True).numpy()
        plain = _raw([(jt.array(x0), jt.array(w0))], jt.array(b), False).numpy()
    except Exception as exc:  # noqa: BLE001  (a compiler or library problem: fall back, say why once)
        warnings.warn(f"fused oneDNN linear layers unavailable, using the plain path ({type(exc).__name__})")
        return False
    return bool(np.allclose(got, expected, rtol=1e-4, atol=1e-4)
                and np.allclose(plain, x0 @ w0.T + b, rtol=1e-4, atol=1e-4))


def _bf16_self_check() -> bool:
    """The bfloat16 ops (forward, dx, dw) against NumPy within bfloat16 rounding; False disables bf16 training."""
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(37, 5)).astype(np.float32), rng.normal(size=(6, 5)).astype(np.float32)
    b, g = rng.normal(size=6).astype(np.float32), rng.normal(size=(37, 6)).astype(np.float32)
    try:
        y = _raw([(jt.array(x), jt.array(w))], jt.array(b), True, bf16=True).numpy()
        dx = _grad_input(jt.array(g), jt.array(w), True).numpy()
        dw = _grad_weight(jt.array(g), jt.array(x), True).numpy()
    except Exception as exc:  # noqa: BLE001  (e.g. no bfloat16 matmul in this oneDNN: train in float32)
        warnings.warn(f"bfloat16 training matmuls unavailable, training in float32 ({type(exc).__name__})")
        return False
    close = lambda got, want: np.allclose(got, want, rtol=0.03, atol=0.03 * np.abs(want).max())  # noqa: E731
    return close(y, np.maximum(x @ w.T + b, 0.0)) and close(dx, g @ w) and close(dw, g.T @ x)


def bf16_available() -> bool:
    """Whether :class:`LinearReLU` can run its matmuls in bfloat16 here (CPU, oneDNN, self-check passed)."""
    if _STATE.get("bf16") is None:
        _STATE["bf16"] = _enabled_here() and _bf16_self_check()
    return bool(_STATE["bf16"])


def fused_linear(terms: list[tuple[jt.Var, jt.Var]], bias: jt.Var, relu: bool = True) -> jt.Var | None:
    """``relu(Σ_i x_i @ w_iᵀ + b)`` as oneDNN matmuls with fused bias/ReLU, or None where unavailable.

    Args:
        terms: pairs (x_i (P, K_i) float32, w_i (N, K_i) float32), all with the same P and N.
        bias: (N,) float32.
        relu: apply max(·, 0) to the sum.
    Returns:
        (P, N), or None when the fused path does not apply (gradients wanted, GPU, no oneDNN, disabled or failed
        self-check): the caller then computes the same thing with ordinary Jittor ops.
    """
    if not jt.flags.no_grad or jt.flags.use_cuda:  # use_cuda: checked per call, it can be switched at run time
        return None
    if _STATE["ok"] is None:
        _STATE["ok"] = _enabled_here() and _self_check()
    if not _STATE["ok"]:
        return None
    if any(x.dtype != "float32" or w.dtype != "float32" for x, w in terms):
        return None
    return _raw(terms, bias, relu)


def _plain_linear(terms: list[tuple[jt.Var, jt.Var]], bias: jt.Var, relu: bool) -> jt.Var:
    """``Σ_i x_i @ w_iᵀ + b`` (then ReLU) with ordinary Jittor ops."""
    from jittor import nn

    h = sum((nn.matmul_transpose(x, w) for x, w in terms[1:]), nn.matmul_transpose(*terms[0])) + bias
    return nn.relu(h) if relu else h


def _matmul_transpose_a(a: jt.Var, b: jt.Var) -> jt.Var:
    """``aᵀ @ b`` for a (P, N), b (P, K) → (N, K), written as the broadcast-multiply-sum that Jittor turns into one
    transposed-operand matmul (``jt.matmul(a.transpose(), b)`` would copy ``a`` into its transpose first)."""
    rows, n, k = a.shape[0], a.shape[1], b.shape[1]
    with jt.flag_scope(amp_reg=jt.flags.amp_reg | 36):  # the flags jt.nn.matmul sets for this pattern
        return (a.broadcast([rows, n, k], [2]) * b.broadcast([rows, n, k], [1])).sum(0)


class LinearReLU(jt.Function):
    """``y = relu(Σ_i x_i @ w_iᵀ + b)`` with the backward written out (see the module docstring).

    ``LinearReLU(bf16).apply(x_0, w_0, x_1, w_1, …, b)``: x_i (P, K_i), w_i (N, K_i), b (N,) → y (P, N).
    Gradients: ``g = dy·[y > 0]`` (P, N); ``dx_i = g @ w_i`` (P, K_i); ``dw_i = gᵀ @ x_i`` (N, K_i);
    ``db = Σ_p g`` (N,). (At y = 0 the subgradient taken is 0, as Jittor's ReLU takes it.)

    ``bf16``: the three matmuls round their operands to bfloat16 (float32 accumulation, float32 outputs, the
    parameters and everything else stay float32); only where :func:`bf16_available`.
    """

    def __init__(self, bf16: bool = False):
        super().__init__()
        self.bf16 = bf16

    def execute(self, *inputs: jt.Var) -> jt.Var:
        terms = [(inputs[i], inputs[i + 1]) for i in range(0, len(inputs) - 1, 2)]
        bias = inputs[-1]
        if self.bf16:
            y = _raw(terms, bias, relu=True, bf16=True)
        else:
            with jt.no_grad():
                y = fused_linear(terms, bias, relu=True)
            if y is None:
                y = _plain_linear(terms, bias, relu=True)
        self.saved = (terms, y)
        return y

    def grad(self, dy: jt.Var) -> list[jt.Var]:
        terms, y = self.saved
        self.saved = None
        g = dy * (y > 0.0)
        grads = []
        for x, w in terms:
            if self.bf16:
                grads += [_grad_input(g, w, True), _grad_weight(g, x, True)]
            else:
                grads += [jt.matmul(g, w), _matmul_transpose_a(g, x)]
        grads.append(g.sum(0))
        return grads


class ReLU(jt.Function):
    """``max(x, 0)`` with the lean backward ``dy·[y > 0]`` (for ReLUs that are not a :func:`linear_relu`)."""

    def execute(self, x: jt.Var) -> jt.Var:
        from jittor import nn

        with jt.no_grad():
            self.y = nn.relu(x)
        return self.y

    def grad(self, dy: jt.Var) -> jt.Var:
        y, self.y = self.y, None
        return dy * (y > 0.0)


def relu(x: jt.Var) -> jt.Var:
    """``max(x, 0)``; in training with :class:`ReLU`'s lean backward (``JNEUSAMPLE_FUSED_LINEAR=0``: Jittor's)."""
    from jittor import nn

    if jt.flags.no_grad or os.environ.get("JNEUSAMPLE_FUSED_LINEAR", "1") == "0":
        return nn.relu(x)
    return ReLU.apply(x)


def linear_relu(terms: list[tuple[jt.Var, jt.Var]], bias: jt.Var, bf16: bool = False) -> jt.Var:
    """``relu(Σ_i x_i @ w_iᵀ + b)``: (P, N) from pairs (x_i (P, K_i), w_i (N, K_i)) and b (N,).

    Inference: the fused oneDNN op where it applies, else plain ops. Training: :class:`LinearReLU` (lean
    backward), unless ``JNEUSAMPLE_FUSED_LINEAR=0`` asks for Jittor's own ops throughout.
    """
    if jt.flags.no_grad:
        fused = fused_linear(terms, bias, relu=True)
        return fused if fused is not None else _plain_linear(terms, bias, relu=True)
    if os.environ.get("JNEUSAMPLE_FUSED_LINEAR", "1") == "0":
        return _plain_linear(terms, bias, relu=True)
    bf16 = bf16 and not jt.flags.use_cuda and bf16_available()
    return LinearReLU(bf16)(*[v for pair in terms for v in pair], bias)
