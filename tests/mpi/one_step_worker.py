"""One Adam step of a tiny NeuSample on fixed rays; run alone or under ``mpirun`` by ``test_mpi.py``.

Every rank builds the same 2·B rays (the demo scene's sampler, stream 0, whatever the rank), keeps its
contiguous share (all of them in a single process), and takes one optimizer step with density noise 0.
Each rank then writes ``rank<r>.npz`` with the averaged gradients (``grad/<name>``) and the updated
parameters (``param/<name>``). With the gradient averaging of Jittor's optimizer, W ranks × (2B/W) rays must
give the update of 1 rank × 2B rays (the loss is a mean over rays, so the mean of the per-rank means is the
mean over all rays).

Usage: python tests/mpi/one_step_worker.py OUT_DIR [--rays 128]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--rays", type=int, default=128, help="total rays of the step, over all ranks")
    args = parser.parse_args()

    from jneusample.platform import distributed
    from jneusample.platform.backend import jt
    from jneusample.config import preset
    from jneusample.data import DEMO_SCENE, load_scene
    from jneusample.data.batches import RayBatcher
    from jneusample.models.registry import build_model
    from jneusample.training.optim import make_optimizer, param_groups, set_learning_rates
    from jneusample.rendering import Rays, render_settings

    config = preset("tiny")
    config.render.density_noise_std = 0.0
    scene = load_scene(DEMO_SCENE, factor=1, testskip=1)
    size, rank = distributed.world_size(), distributed.rank()
    if args.rays % size:
        raise SystemExit(f"--rays {args.rays} is not divisible by {size} ranks")

    jt.set_global_seed(0, different_seed_for_mpi=False)
    model = build_model(config.model)
    distributed.broadcast_parameters(model)
    groups = param_groups(model, config)
    optimizer = make_optimizer(groups)
    set_learning_rates(optimizer, groups, 0)

    # The same 2B rays on every rank (stream 0), past the precrop phase.
    batch = RayBatcher(scene, args.rays, 1.0, 0, seed=123, stream=0).sample(step=10)
    share = args.rays // size
    part = slice(rank * share, (rank + 1) * share)
    settings = render_settings(scene, config, training=True)
    rays = Rays.from_numpy(batch.origins[part], batch.directions[part], batch.view_dirs[part])
    outputs = model(rays, settings)
    loss = model.loss(outputs, jt.array(batch.target[part]))
    optimizer.backward(loss)  # gradients, mean-all-reduced across ranks by Jittor under MPI
    names = {id(value): name for name, value in model.named_parameters()}
    grads = {}
    for group in optimizer.param_groups:
        for param, grad in zip(group["params"], group["grads"]):
            grads[f"grad/{names[id(param)]}"] = grad.numpy().copy()
    optimizer.step()
    distributed.sync_parameters(model)
    params = {f"param/{name}": value.numpy().copy() for name, value in model.state_dict().items()}
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / f"rank{rank}.npz", loss=np.float64(loss.item()), world_size=size, **grads, **params)


if __name__ == "__main__":
    main()
