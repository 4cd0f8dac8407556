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
(a quarter of a training step in the profile of docs/performance.md). With oneDNN the whole backward of a layer
is one op: one streaming pass makes g and db together, then two oneDNN matmuls read g (``gᵀ`` through its
layout, without a transposed copy); elsewhere (CUDA included) it is the same formulas in Jittor ops. The forward
is the fused oneDNN op where available, the plain ops elsewhere, so the values are the inference path's.

With ``bf16`` (``train.bf16_matmuls``) the three matmuls of a layer take bfloat16 operands (oneDNN,
avx512_bf16) and accumulate in float32. Each operand is rounded once: the forward rounds x_i and keeps that copy
for dW_i, the backward's pass writes g directly in bfloat16, only the small W_i are rounded per matmul.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import environment
from ..platform import backend
from ..platform.backend import jt
from jittor import nn  # noqa: E402  (after the backend configured Jittor)

_STATE: dict[str, bool | None] = {"ok": None}

_HEADER = r"""#include <dnnl.h>
#include <cstdint>
#include <cstring>
#include <vector>

// float32 → bfloat16 (its upper 16 bits), rounding to nearest even (finite inputs)
static inline uint16_t jns_bf16(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    return (uint16_t)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

__attribute__((optimize("O3"))) static void jns_to_bf16(const float* src, uint16_t* dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = jns_bf16(src[i]);
}

// One streaming pass over a layer's output gradient: g = dy·[y > 0] (a ReLU layer; y = nullptr: no ReLU, g = dy)
// in float32, or in bfloat16 when g16 is given, and db = Σ_rows g (float32, accumulated row by row in float32).
__attribute__((optimize("O3"))) static void jns_relu_grad(const float* dy, const float* y, size_t rows, size_t cols,
                                                         float* g, uint16_t* g16, float* db) {
    for (size_t c = 0; c < cols; c++) db[c] = 0.f;
    for (size_t r = 0; r < rows; r++) {
        const float* dy_r = dy + r * cols;
        const float* y_r = y ? y + r * cols : dy_r;
        if (g16) {
            uint16_t* g_r = g16 + r * cols;
            for (size_t c = 0; c < cols; c++) {
                const float v = (!y || y_r[c] > 0.f) ? dy_r[c] : 0.f;
                db[c] += v;
                g_r[c] = jns_bf16(v);
            }
        } else {
            float* g_r = g + r * cols;
            for (size_t c = 0; c < cols; c++) {
                const float v = (!y || y_r[c] > 0.f) ? dy_r[c] : 0.f;
                db[c] += v;
                g_r[c] = v;
            }
        }
    }
}
"""

_PROLOGUE = r"""
    static dnnl_engine_t engine = nullptr;
    static dnnl_stream_t stream = nullptr;
    if (!engine) {
        CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success);
        CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) == dnnl_success);
    }
    auto to_bf16 = [](const float* src, std::vector<uint16_t>& dst, size_t n) {
        dst.resize(n);
        jns_to_bf16(src, dst.data(), n);
    };
    (void)to_bf16;
"""

# One oneDNN matmul C (M, N) [+]= A (M, K) · B (K, N) [+ bias], [ReLU], as a C block. A and B are pointers given
# as C expressions (``a``, ``b``), read in the layout ``a_tag``/``b_tag`` ('ab': row-major as given; 'ba': the
# transpose of a row-major array), so no transposed copy is materialised; C is written at ``c``. ``accumulate``
# adds to C (a sum post-op). With ``bf16`` the operands are bfloat16: a float32 operand is rounded first unless
# its ``*_is_bf16`` says it already holds bfloat16 values (float32 accumulation and output either way).
_TERM = r"""
    {{
        const dnnl_dim_t M = {m}, N = {n}, K = {k};
        const dnnl_data_type_t dt = {bf16} ? dnnl_bf16 : dnnl_f32;
        std::vector<uint16_t> a16, b16;
        const void* a_ptr = {a};
        const void* b_ptr = {b};
        if ({bf16} && !{a_is_bf16}) {{ to_bf16((const float*)a_ptr, a16, (size_t)M * K); a_ptr = a16.data(); }}
        if ({bf16} && !{b_is_bf16}) {{ to_bf16((const float*)b_ptr, b16, (size_t)K * N); b_ptr = b16.data(); }}
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
        CHECK(dnnl_memory_create(&c_mem, &c_md, engine, {c}) == dnnl_success);
        int n_args = 3;
        dnnl_exec_arg_t args[4] = {{{{DNNL_ARG_SRC, a_mem}}, {{DNNL_ARG_WEIGHTS, b_mem}}, {{DNNL_ARG_DST, c_mem}}}};
        if ({has_bias}) {{
            CHECK(dnnl_memory_create(&bias_mem, &bias_md, engine, {bias}) == dnnl_success);
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


def _term(m: str, n: str, k: str, a: str, b: str, c: str, a_tag: str = "ab", b_tag: str = "ab", bias: str = "",
          accumulate: bool = False, relu: bool = False, bf16: bool = False, a_is_bf16: bool = False,
          b_is_bf16: bool = False) -> str:
    """The C block of one matmul (see :data:`_TERM`); ``bias``: a C pointer expression, or '' for none."""
    return _TERM.format(m=m, n=n, k=k, a=a, b=b, c=c, a_tag=a_tag, b_tag=b_tag, bias=bias or "nullptr",
                        has_bias=int(bool(bias)), accumulate=int(accumulate), relu=int(relu), bf16=int(bf16),
                        a_is_bf16=int(a_is_bf16), b_is_bf16=int(b_is_bf16))


def _source(n_terms: int, relu: bool, bf16: bool = False) -> str:
    """``relu(Σ_i x_i @ w_iᵀ + b)``: inputs x0, w0, x1, w1, …, bias; w_i (N, K_i) is read as the (K_i, N)
    matrix in layout 'ba'. Term 0 writes (with the bias), later terms accumulate, the ReLU follows the last.
    With ``bf16`` the op has one more output per term, x_i rounded to bfloat16 (P, K_i) as int16 bits, which
    is the operand of the term's matmul and is kept for the backward's dw_i."""
    bias = 2 * n_terms
    parts = [_PROLOGUE]
    for term in range(n_terms):
        x, w, first = 2 * term, 2 * term + 1, term == 0
        x_ptr = f"in{x}_p"
        if bf16:
            parts.append(f"    jns_to_bf16(in{x}_p, (uint16_t*)out{term + 1}_p, (size_t)in{x}->num);\n")
            x_ptr = f"out{term + 1}_p"
        parts.append(_term(m="in0->shape[0]", n="in1->shape[0]", k=f"in{x}->shape[1]", a=x_ptr, b=f"in{w}_p",
                           c="out0_p", b_tag="ba", bias=f"in{bias}_p" if first else "", accumulate=not first,
                           relu=relu and term == n_terms - 1, bf16=bf16, a_is_bf16=True))
    return "".join(parts)


def _backward_source(n_terms: int, bf16: bool, relu: bool = True) -> str:
    """The backward of :class:`LinearReLU` as one op. Inputs dy (P, N), y (P, N), then x_i (P, K_i; with ``bf16``
    the bfloat16 copies the forward kept) and w_i (N, K_i) per term. Outputs dx_i (P, K_i) per term, dw_i (N, K_i)
    per term, db (N,). One pass makes g = dy·[y > 0] (without ``relu``: g = dy, y unused) in bfloat16 with
    ``bf16``, and db; then dx_i = g w_i and dw_i = gᵀ x_i (g read as the (N, P) matrix in layout 'ba')."""
    parts = [_PROLOGUE,
             "    const size_t rows = in0->shape[0], width = in0->shape[1];\n",
             "    std::vector<float> g32(%s);\n" % ("0" if bf16 else "rows * width"),
             "    std::vector<uint16_t> g16(%s);\n" % ("rows * width" if bf16 else "0"),
             "    jns_relu_grad(in0_p, %s, rows, width, g32.data(), %s, out%d_p);\n"
             % ("in1_p" if relu else "nullptr", "g16.data()" if bf16 else "nullptr", 2 * n_terms),
             "    const void* g = %s;\n" % ("g16.data()" if bf16 else "g32.data()")]
    for term in range(n_terms):
        x, w = 2 + 2 * term, 3 + 2 * term
        parts.append(_term(m="rows", n=f"in{w}->shape[1]", k="width", a="g", b=f"in{w}_p", c=f"out{term}_p",
                           bf16=bf16, a_is_bf16=True))
        parts.append(_term(m="width", n=f"in{x}->shape[1]", k="rows", a="g", b=f"in{x}_p", c=f"out{n_terms + term}_p",
                           a_tag="ba", bf16=bf16, a_is_bf16=True, b_is_bf16=True))
    return "".join(parts)


def _enabled_here() -> bool:
    return (environment.fused_linear() and backend.ONEDNN_AVAILABLE
            and backend.DEVICE == "cpu" and not jt.flags.use_cuda)


def _raw(terms, bias, relu: bool) -> jt.Var:
    """``[relu](Σ_i x_i @ w_iᵀ + b)`` in float32 as one op."""
    inputs = [v for pair in terms for v in pair] + [bias]
    rows, out = terms[0][0].shape[0], terms[0][1].shape[0]
    return jt.code((rows, out), "float32", inputs, cpu_header=_HEADER, cpu_src=_source(len(terms), relu))


def _raw_bf16(terms, bias, relu: bool = True) -> tuple[jt.Var, list[jt.Var]]:
    """``[relu](Σ_i x_i @ w_iᵀ + b)`` with bfloat16 operands: (y (P, N) float32, [x_i in bfloat16 as int16])."""
    inputs = [v for pair in terms for v in pair] + [bias]
    rows, out = terms[0][0].shape[0], terms[0][1].shape[0]
    shapes = [(rows, out)] + [tuple(x.shape) for x, _ in terms]
    outputs = jt.code(shapes, ["float32"] + ["int16"] * len(terms), inputs, cpu_header=_HEADER,
                      cpu_src=_source(len(terms), relu, bf16=True))
    return outputs[0], list(outputs[1:])


def _backward(dy: jt.Var, y: jt.Var | None, xs: list[jt.Var], ws: list[jt.Var],
              bf16: bool) -> tuple[list[jt.Var], list[jt.Var], jt.Var]:
    """(dx_i, dw_i, db) of ``y = relu(Σ_i x_i @ w_iᵀ + b)`` (``y`` None: of the layer without ReLU) as one op
    (:func:`_backward_source`); ``xs`` are the bfloat16 copies of :func:`_raw_bf16` when ``bf16``."""
    rows, n = dy.shape
    shapes = ([(rows, w.shape[1]) for w in ws] + [tuple(w.shape) for w in ws] + [(n,)])
    inputs = [dy, dy if y is None else y] + [v for pair in zip(xs, ws) for v in pair]
    outputs = jt.code(shapes, ["float32"] * len(shapes), inputs, cpu_header=_HEADER,
                      cpu_src=_backward_source(len(ws), bf16, relu=y is not None))
    return list(outputs[:len(ws)]), list(outputs[len(ws):2 * len(ws)]), outputs[-1]


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
        g = rng.normal(size=(37, 6)).astype(np.float32)
        (dx0, dx1), (dw0, dw1), db = _backward(jt.array(g), jt.array(got), [jt.array(x0), jt.array(x1)],
                                               [jt.array(w0), jt.array(w1)], bf16=False)
        masked = g * (got > 0)
        backward = [(dx0, masked @ w0), (dx1, masked @ w1), (dw0, masked.T @ x0), (dw1, masked.T @ x1),
                    (db, masked.sum(0))]
        backward_ok = all(np.allclose(v.numpy(), want, rtol=1e-4, atol=1e-4) for v, want in backward)
    except Exception as exc:  # noqa: BLE001  (a compiler or library problem: fall back, say why once)
        warnings.warn(f"fused oneDNN linear layers unavailable, using the plain path ({type(exc).__name__})")
        return False
    return bool(np.allclose(got, expected, rtol=1e-4, atol=1e-4) and backward_ok
                and np.allclose(plain, x0 @ w0.T + b, rtol=1e-4, atol=1e-4))


def _bf16_self_check() -> bool:
    """The bfloat16 ops (forward, dx, dw) against NumPy within bfloat16 rounding; False disables bf16 training."""
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(37, 5)).astype(np.float32), rng.normal(size=(6, 5)).astype(np.float32)
    b, g = rng.normal(size=6).astype(np.float32), rng.normal(size=(37, 6)).astype(np.float32)
    try:
        y, (x16,) = _raw_bf16([(jt.array(x), jt.array(w))], jt.array(b))
        y = y.numpy()
        (dx,), (dw,), db = _backward(jt.array(g), jt.array(y), [x16], [jt.array(w)], bf16=True)
        dx, dw, db = dx.numpy(), dw.numpy(), db.numpy()
    except Exception as exc:  # noqa: BLE001  (e.g. no bfloat16 matmul in this oneDNN: train in float32)
        warnings.warn(f"bfloat16 training matmuls unavailable, training in float32 ({type(exc).__name__})")
        return False
    close = lambda got, want: np.allclose(got, want, rtol=0.03, atol=0.03 * np.abs(want).max())  # noqa: E731
    masked = g * (y > 0)
    return (close(y, np.maximum(x @ w.T + b, 0.0)) and close(dx, masked @ w) and close(dw, masked.T @ x)
            and close(db, masked.sum(0)))


def bf16_available() -> bool:
    """Whether :class:`LinearReLU` can run its matmuls in bfloat16 here (CPU, oneDNN, self-check passed)."""
    if _STATE.get("bf16") is None:
        _STATE["bf16"] = _enabled_here() and _bf16_self_check()
    return bool(_STATE["bf16"])


def fused_available() -> bool:
    """Whether the oneDNN ops apply here (CPU, oneDNN, not disabled, self-check passed; decided on first use)."""
    if jt.flags.use_cuda:  # checked per call: it can be switched at run time
        return False
    if _STATE["ok"] is None:
        _STATE["ok"] = _enabled_here() and _self_check()
    return bool(_STATE["ok"])


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
    if not jt.flags.no_grad or not fused_available():
        return None
    if any(x.dtype != "float32" or w.dtype != "float32" for x, w in terms):
        return None
    return _raw(terms, bias, relu)


def _plain_linear(terms: list[tuple[jt.Var, jt.Var]], bias: jt.Var, relu: bool) -> jt.Var:
    """``Σ_i x_i @ w_iᵀ + b`` (then ReLU) with ordinary Jittor ops."""
    h = sum((nn.matmul_transpose(x, w) for x, w in terms[1:]), nn.matmul_transpose(*terms[0])) + bias
    return nn.relu(h) if relu else h


def _matmul_transpose_a(a: jt.Var, b: jt.Var) -> jt.Var:
    """``aᵀ @ b`` for a (P, N), b (P, K) → (N, K), written as the broadcast-multiply-sum that Jittor turns into one
    transposed-operand matmul (``jt.matmul(a.transpose(), b)`` would copy ``a`` into its transpose first)."""
    rows, n, k = a.shape[0], a.shape[1], b.shape[1]
    with jt.flag_scope(amp_reg=jt.flags.amp_reg | 36):  # the flags jt.nn.matmul sets for this pattern
        return (a.broadcast([rows, n, k], [2]) * b.broadcast([rows, n, k], [1])).sum(0)


class LinearReLU(jt.Function):
    """``y = relu(Σ_i x_i @ w_iᵀ + b)`` (or without the ReLU) with the backward written out (module docstring).

    ``LinearReLU(bf16, relu).apply(x_0, w_0, x_1, w_1, …, b)``: x_i (P, K_i), w_i (N, K_i), b (N,) → y (P, N).
    Gradients: ``g = dy·[y > 0]`` (P, N; without ``relu``: ``g = dy``); ``dx_i = g @ w_i`` (P, K_i);
    ``dw_i = gᵀ @ x_i`` (N, K_i); ``db = Σ_p g`` (N,). (At y = 0 the subgradient taken is 0, as Jittor's ReLU
    takes it.)

    ``bf16``: the three matmuls round their operands to bfloat16 (float32 accumulation, float32 outputs, the
    parameters and everything else stay float32); only where :func:`bf16_available`.
    """

    def __init__(self, bf16: bool = False, relu: bool = True):
        super().__init__()
        self.bf16, self.relu = bf16, relu

    def execute(self, *inputs: jt.Var) -> jt.Var:
        terms = [(inputs[i], inputs[i + 1]) for i in range(0, len(inputs) - 1, 2)]
        bias = inputs[-1]
        self.one_op = self.bf16 or fused_available()
        if self.bf16:
            y, kept = _raw_bf16(terms, bias, self.relu)  # the backward's dw_i uses the rounded x_i of the forward
        else:
            with jt.no_grad():
                y = fused_linear(terms, bias, relu=self.relu)
            if y is None:
                y = _plain_linear(terms, bias, relu=self.relu)
            kept = [x for x, _ in terms]
        self.saved = (kept, [w for _, w in terms], y if self.relu else None)
        return y

    def grad(self, dy: jt.Var) -> list[jt.Var]:
        xs, ws, y = self.saved
        self.saved = None
        if self.one_op:  # oneDNN: the whole backward as one op
            dxs, dws, db = _backward(dy, y, xs, ws, self.bf16)
        else:
            g = dy if y is None else dy * (y > 0.0)
            dxs, dws, db = [jt.matmul(g, w) for w in ws], [_matmul_transpose_a(g, x) for x in xs], g.sum(0)
        return [v for pair in zip(dxs, dws) for v in pair] + [db]


class ReLU(jt.Function):
    """``max(x, 0)`` with the lean backward ``dy·[y > 0]`` (for ReLUs that are not a :func:`linear_relu`)."""

    def execute(self, x: jt.Var) -> jt.Var:
        with jt.no_grad():
            self.y = nn.relu(x)
        return self.y

    def grad(self, dy: jt.Var) -> jt.Var:
        y, self.y = self.y, None
        return dy * (y > 0.0)


def relu(x: jt.Var) -> jt.Var:
    """``max(x, 0)``; in training with :class:`ReLU`'s lean backward (``JNEUSAMPLE_FUSED_LINEAR=0``: Jittor's)."""
    if jt.flags.no_grad or not environment.fused_linear():
        return nn.relu(x)
    return ReLU.apply(x)


def linear_relu(terms: list[tuple[jt.Var, jt.Var]], bias: jt.Var, bf16: bool = False, relu: bool = True) -> jt.Var:
    """``relu(Σ_i x_i @ w_iᵀ + b)`` (``relu=False``: without the ReLU, see :func:`linear`): (P, N) from pairs
    (x_i (P, K_i), w_i (N, K_i)) and b (N,).

    Inference: the fused oneDNN op where it applies, else plain ops. Training: :class:`LinearReLU` (lean
    backward), unless ``JNEUSAMPLE_FUSED_LINEAR=0`` asks for Jittor's own ops throughout.
    """
    if jt.flags.no_grad:
        fused = fused_linear(terms, bias, relu=relu)
        return fused if fused is not None else _plain_linear(terms, bias, relu=relu)
    if not environment.fused_linear():
        return _plain_linear(terms, bias, relu=relu)
    bf16 = bf16 and not jt.flags.use_cuda and bf16_available()
    return LinearReLU(bf16, relu)(*[v for pair in terms for v in pair], bias)


def linear(terms: list[tuple[jt.Var, jt.Var]], bias: jt.Var, bf16: bool = False) -> jt.Var:
    """``Σ_i x_i @ w_iᵀ + b`` (no activation): :func:`linear_relu` without the ReLU (its forward and lean
    backward as single oneDNN ops where they apply)."""
    return linear_relu(terms, bias, bf16=bf16, relu=False)
