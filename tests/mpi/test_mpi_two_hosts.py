"""Multi-node on one machine (issue 26): two "hosts" made of Linux namespaces, ``mpirun -np 2 --host a,b``.

The hosts are ``benchmarks/two_hosts.py``'s: network + UTS namespaces (names ``a`` and ``b``, 10.77.0.1 and .2) on
a veth pair, OpenMPI's TCP transport between them, a launcher agent that enters ``b`` instead of ssh. The run
trains, resumes and evaluates; its checkpoints equal, array for array, those of the same command on one host with
2 ranks (same seeds; a sum of two numbers is the same in either order), and so does its evaluation. Skipped, with
the reason, where namespaces cannot be made (not root, no ``ip``/``unshare``, a container without the rights).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))

from two_hosts import TwoHosts, Unavailable  # noqa: E402

from test_mpi import (TRAIN, check, checkpoints, environment, json_lines, load_checkpoint,  # noqa: E402
                      mpi_command, pytestmark, run)

__all__ = ["pytestmark"]  # OpenMPI's mpirun and mpicc, as for test_mpi.py
COMPILE_TIMEOUT = 2400
"""Seconds for the first job on the two hosts: 16 minutes here on 2 cores, both hosts compiling at once."""


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory):
    hosts = TwoHosts(tmp_path_factory.mktemp("two_hosts"))
    try:
        hosts.create()
    except Unavailable as exc:
        pytest.skip(f"no two hosts on this machine: {exc}")
    command = lambda *args: hosts.command(mpi_command(2, *args))  # noqa: E731
    # Jittor compiles its operators once per host name, as each host of a cluster does (docs/distributed.md):
    # minutes for the two new hosts at the first run on a machine, seconds afterwards
    warm_up = tmp_path_factory.mktemp("warm_up") / "run"
    check(run(command("-m", "jneusample", "train", "--preset", "tiny", "--steps", "1", "--no-progress", "--out",
                      str(warm_up)), timeout=COMPILE_TIMEOUT))
    yield command
    hosts.remove()


def test_the_two_hosts_are_two_hosts(two_hosts):
    result = check(run(two_hosts("-c", "import os, socket; print(os.environ['OMPI_COMM_WORLD_RANK'], "
                                       "socket.gethostname(), os.environ['OMPI_COMM_WORLD_LOCAL_SIZE'])")))
    assert sorted(result.stdout.split("\n")[:2]) == ["0 a 1", "1 b 1"], result.stdout
    # the addresses live in the namespaces only: the ranks connect through the veth pair
    assert subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout.count("10.77.0.") == 0


def test_train_resume_and_eval_across_two_hosts_equal_one_host(two_hosts, tmp_path):
    across, one_host = tmp_path / "across", tmp_path / "one_host"
    train = ("-m", "jneusample", *TRAIN)
    # stopped at step 5 of a 10-step run (the schedule is the 10-step one), then resumed
    check(run(two_hosts(*train, "--steps", "10", "--stop-at", "5", "--out", str(across))))
    check(run(two_hosts(*train, "--steps", "10", "--out", str(across), "--resume")))
    check(run(mpi_command(2, *train, "--steps", "10", "--out", str(one_host)), environment()))

    found, reference = checkpoints(across), checkpoints(one_host)
    assert [p.name for p in found] == [p.name for p in reference] == ["step_00000005.ckpt", "step_00000010.ckpt"]
    for mine, theirs in zip(found, reference):
        state, expected = load_checkpoint(mine), load_checkpoint(theirs)
        assert state["world_size"] == 2 and len(set(state["param_digest_per_rank"])) == 1
        assert state["param_digest_per_rank"] == expected["param_digest_per_rank"]
        arrays, expected_arrays = state["model"], expected["model"]
        assert arrays.keys() == expected_arrays.keys()
        for name in arrays:
            np.testing.assert_array_equal(arrays[name], expected_arrays[name], err_msg=f"{mine.name}: {name}")

    evaluate = ("-m", "jneusample", "eval", "--lpips", "none", "--no-progress", "--no-images", "--run")
    report = json_lines(check(run(two_hosts(*evaluate, str(across)))).stdout)[-1]
    reference_report = json_lines(check(run(mpi_command(2, *evaluate, str(one_host)), environment())).stdout)[-1]
    assert report["n_images"] == reference_report["n_images"] == 8
    assert report["psnr"] == reference_report["psnr"] and report["ssim"] == reference_report["ssim"]
    assert json.loads((across / "eval_test" / "results.json").read_text())["world_size"] == 2
