"""Exercise jneusample.platform.distributed's collectives; run under ``mpirun`` by ``test_mpi.py``.

Each rank writes ``rank<r>.pkl`` with what it received, and the test compares it with what every rank sent
(:func:`sent_by`, which both sides compute).

Usage: python tests/mpi/collectives_worker.py OUT_DIR
"""
from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np


def sent_by(rank: int) -> dict:
    """Rank ``rank``'s object: lengths not multiples of 4, every byte value, negative and extreme ints."""
    return {
        "rank": rank,
        "text": "é∑" * (1000 * rank + 3),
        "bytes": bytes(range(256)) * (rank + 1) + b"\xff" * rank,
        "array": np.arange(5 * rank + 3, dtype=np.float32) - 7.5,
        "ints": [-(2**31), 2**31 - 1, -1, 2**63 - 1, -rank],
        "empty": [],
        "none": None,
    }


def main() -> None:
    out = Path(sys.argv[1])
    from jneusample.platform import distributed
    from jneusample.platform.backend import jt
    from jneusample.config import preset
    from jneusample.models.registry import build_model

    rank, size = distributed.rank(), distributed.world_size()
    gathered = distributed.gather_objects(sent_by(rank))
    shards = distributed.gather_objects(distributed.shard(list(range(11))))
    distributed.barrier()
    anyone = distributed.any_rank(rank == size - 1)
    nobody = distributed.any_rank(False)
    # Different initialisations on purpose (Jittor's per-rank seed offset); broadcast must make them equal.
    jt.set_global_seed(0, different_seed_for_mpi=True)
    model = build_model(preset("tiny").model)
    before = distributed.parameter_digest(model)
    distributed.broadcast_parameters(model)
    after = distributed.parameter_digest(model)
    digests = distributed.check_parameters_in_sync(model)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"rank{rank}.pkl", "wb") as handle:
        pickle.dump({"size": size, "gathered": gathered, "shards": shards, "any": anyone, "none": nobody,
                     "before": before, "after": after, "digests": digests}, handle)


if __name__ == "__main__":
    main()
