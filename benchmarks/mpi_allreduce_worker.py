"""Seconds per training step spent in all-reduces, measured apart from training; run under ``mpirun`` by
``benchmarks/mpi_scaling.py``.

A step of the trainer all-reduces every gradient (Jittor's optimizer: one ``mpi_all_reduce("mean")`` per
parameter, run together at the step's ``sync``) and three one-number sums (the clock, the stop signal, the
divergence check; ``jneusample.platform.distributed``). Both are timed here, ``--repeats`` times after
``--warmup``, on the parameters of the preset's model; rank 0 prints one JSON line.

Usage: mpirun -np 2 python benchmarks/mpi_allreduce_worker.py [--preset cpu] [--repeats 50]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from jneusample.config import preset  # noqa: E402
from jneusample.models.registry import build_model  # noqa: E402
from jneusample.platform import backend, distributed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    jt = backend.jt
    parameters = [value for _, value in distributed.model_vars(build_model(preset(args.preset).model))]
    gradients = [jt.ones(value.shape, "float32") for value in parameters]
    jt.sync(gradients)

    def gradient_all_reduce() -> None:
        jt.sync([gradient.mpi_all_reduce("mean") for gradient in gradients])

    def three_scalars() -> None:
        distributed.mean_over_ranks(1.0)
        distributed.any_rank(False)
        distributed.any_rank(False)

    timings = {}
    for name, work in (("gradients", gradient_all_reduce), ("three_scalars", three_scalars)):
        for _ in range(args.warmup):
            work()
        distributed.barrier()
        started = time.perf_counter()
        for _ in range(args.repeats):
            work()
        timings[name] = distributed.mean_over_ranks((time.perf_counter() - started) / args.repeats)
    if backend.rank() == 0:
        print(json.dumps({"ranks": backend.world_size(), "parameters": len(parameters),
                          "floats": int(sum(value.numel() for value in parameters)), "repeats": args.repeats,
                          "gradients_s": round(timings["gradients"], 6),
                          "three_scalars_s": round(timings["three_scalars"], 6)}))


if __name__ == "__main__":
    main()
