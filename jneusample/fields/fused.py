"""Linear layers as single oneDNN matmuls with the bias and ReLU fused in (inference on the CPU).

Jittor runs ``relu(x @ Wᵀ + b)`` as a oneDNN sgemm followed by a separate single-threaded pass that re-reads the
(P, width) result to add the bias and clamp it; at NeRF's sizes that pass costs about a quarter of the render
time (docs/performance.md). oneDNN's matmul primitive applies the bias and the ReLU while the output tile is
still in registers, so they become free. :func:`fused_linear` runs that primitive through ``jt.code``, with the
same values as the plain path (the same products, summed in oneDNN's order).

It is used only where it can be: on the CPU, with Jittor's oneDNN, under ``jt.no_grad()`` (the op has no
gradient), and after a self-check on first use; everywhere else (training, CUDA, no oneDNN,
``JNEUSAMPLE_FUSED_LINEAR=0``) callers get ``None`` and take the plain path.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from .. import backend
from ..backend import jt

_STATE: dict[str, bool | None] = {"ok": None}

_HEADER = "#include <dnnl.h>\n"

# One matmul primitive per term: term 0 writes dst (+ bias), later terms accumulate into it (sum post-op); the
# ReLU is a post-op of the last one. Inputs: x0, w0, x1, w1, …, bias; w_i is (N, K_i) row-major, i.e. the
# (K_i, N) weights matrix in oneDNN's 'ba' layout, so no transpose is materialised.
_TERM = r"""
    {{
        const dnnl_dim_t K = in{x}->shape[1];
        dnnl_memory_desc_t a_md, b_md, bias_md, c_md;
        dnnl_dims_t a_dims = {{M, K}}, b_dims = {{K, N}}, bias_dims = {{1, N}}, c_dims = {{M, N}};
        CHECK(dnnl_memory_desc_init_by_tag(&a_md, 2, a_dims, dnnl_f32, dnnl_ab) == dnnl_success);
        CHECK(dnnl_memory_desc_init_by_tag(&b_md, 2, b_dims, dnnl_f32, dnnl_ba) == dnnl_success);
        CHECK(dnnl_memory_desc_init_by_tag(&bias_md, 2, bias_dims, dnnl_f32, dnnl_ab) == dnnl_success);
        CHECK(dnnl_memory_desc_init_by_tag(&c_md, 2, c_dims, dnnl_f32, dnnl_ab) == dnnl_success);
        dnnl_matmul_desc_t desc;
        CHECK(dnnl_matmul_desc_init(&desc, &a_md, &b_md, {bias_md}, &c_md) == dnnl_success);
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
        CHECK(dnnl_memory_create(&a_mem, &a_md, engine, in{x}_p) == dnnl_success);
        CHECK(dnnl_memory_create(&b_mem, &b_md, engine, in{w}_p) == dnnl_success);
        CHECK(dnnl_memory_create(&c_mem, &c_md, engine, out0_p) == dnnl_success);
        int n_args = 3;
        dnnl_exec_arg_t args[4] = {{{{DNNL_ARG_SRC, a_mem}}, {{DNNL_ARG_WEIGHTS, b_mem}}, {{DNNL_ARG_DST, c_mem}}}};
        if ({has_bias}) {{
            CHECK(dnnl_memory_create(&bias_mem, &bias_md, engine, in{b}_p) == dnnl_success);
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


def _source(n_terms: int, relu: bool) -> str:
    bias = 2 * n_terms
    parts = [
        "    const dnnl_dim_t M = in0->shape[0], N = in1->shape[0];\n"
        "    static dnnl_engine_t engine = nullptr;\n"
        "    static dnnl_stream_t stream = nullptr;\n"
        "    if (!engine) {\n"
        "        CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success);\n"
        "        CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) == dnnl_success);\n"
        "    }\n"
    ]
    for term in range(n_terms):
        first, last = term == 0, term == n_terms - 1
        parts.append(_TERM.format(x=2 * term, w=2 * term + 1, b=bias, bias_md="&bias_md" if first else "nullptr",
                                  has_bias=int(first), accumulate=int(not first), relu=int(relu and last)))
    return "".join(parts)


def _enabled_here() -> bool:
    return (os.environ.get("JNEUSAMPLE_FUSED_LINEAR", "1") != "0" and backend.ONEDNN_AVAILABLE
            and backend.DEVICE == "cpu" and not jt.flags.use_cuda)


def _raw(terms, bias, relu: bool) -> jt.Var:
    inputs = [v for pair in terms for v in pair] + [bias]
    rows, out = terms[0][0].shape[0], terms[0][1].shape[0]
    return jt.code((rows, out), "float32", inputs, cpu_header=_HEADER, cpu_src=_source(len(terms), relu))


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
