"""Distributed training and evaluation under a real ``mpirun -np 2`` (CPU).

Skipped when OpenMPI's ``mpirun``/``mpicc`` are absent. Every job runs with a timeout, so a deadlock (ranks
waiting in different collectives) fails the test instead of hanging it. About 2-3 minutes on 2 cores.
"""
from __future__ import annotations

import importlib.util
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import ENGINE_CRASH

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
MPIRUN = shutil.which("mpirun")
JOB_TIMEOUT = 240

pytestmark = [
    pytest.mark.skipif(MPIRUN is None, reason="mpirun not on PATH (apt-get install openmpi-bin libopenmpi-dev)"),
    pytest.mark.skipif(shutil.which("mpicc") is None,
                       reason="mpicc not on PATH: Jittor cannot build its MPI ops (apt-get install libopenmpi-dev)"),
]


def environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    # Containers often forbid the cross-memory-attach fast path between processes; shared memory works anyway.
    env.setdefault("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
    env.update(extra)
    return env


def mpi_command(ranks: int, *args: str) -> list[str]:
    return [MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", str(ranks),
            "-x", "PYTHONPATH", "-x", "JNEUSAMPLE_PARAM_DIGEST_DIR", "-x", "OMPI_MCA_btl_vader_single_copy_mechanism",
            sys.executable, *args]


def run(command: list[str], env: dict[str, str] | None = None, timeout: float = JOB_TIMEOUT):
    """Run a job in its own process group; kill the whole group (mpirun and ranks) on timeout. A job one of whose
    ranks died inside Jittor's native code (its segfault handler's text, as conftest.run_command detects it) runs
    once more, with a warning: a rare, unreproducible engine crash must not hide whether our code works (a crash
    on the rerun too fails the test)."""
    result = _run_once(command, env, timeout)
    if any(text in result.stderr for text in ENGINE_CRASH):
        warnings.warn(f"Jittor crashed in a rank of {' '.join(map(str, command[:8]))} ...; rerunning once: "
                      f"{result.stderr[-1500:]}")
        result = _run_once(command, env, timeout)
    return result


def _run_once(command: list[str], env: dict[str, str] | None, timeout: float) -> subprocess.CompletedProcess:
    process = subprocess.Popen(command, cwd=REPO, env=env or environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"job timed out after {timeout}s (deadlock?): {' '.join(command)}\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def check(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{' '.join(result.args)} failed ({result.returncode}):\n{result.stderr[-4000:]}"
    return result


def jneusample(*args: str, ranks: int = 1, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m jneusample ARGS``, alone or under ``mpirun -np RANKS``."""
    command = mpi_command(ranks, "-m", "jneusample", *args) if ranks > 1 else \
        [sys.executable, "-m", "jneusample", *args]
    return check(run(command, env))


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def load_checkpoint(path: Path) -> dict:
    sys.path.insert(0, str(REPO))
    from jneusample.platform.checkpoint import load_checkpoint as load

    return load(path)


def checkpoints(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "checkpoints").glob("step_*.ckpt"))


def single_process_initial_digest() -> str:
    """Digest of the tiny preset's initial parameters for seed 0 in a single process (this pytest process)."""
    sys.path.insert(0, str(REPO))
    from jneusample.platform import distributed
    from jneusample.platform.backend import jt
    from jneusample.config import preset
    from jneusample.models.registry import build_model

    jt.set_global_seed(preset("tiny").train.seed)
    return distributed.parameter_digest(build_model(preset("tiny").model))


TRAIN = ("train", "--preset", "tiny", "--no-progress", "--set", "train.checkpoint_every=5",
         "--set", "train.validate_every=5", "--set", "train.val_views=2", "--set", "train.keep_checkpoints=10")


@pytest.fixture(scope="module")
def run_2ranks(tmp_path_factory):
    """A tiny run trained for 10 steps on 2 ranks, with each rank's final parameter digest."""
    root = tmp_path_factory.mktemp("mpi_train")
    digests = root / "digests"
    result = jneusample(*TRAIN, "--steps", "10", "--out", str(root / "run"), ranks=2,
                        env=environment(JNEUSAMPLE_PARAM_DIGEST_DIR=str(digests)))
    return root / "run", digests, result


def test_training_on_two_ranks(run_2ranks):
    run_dir, digests, result = run_2ranks
    summaries = json_lines(result.stdout)
    assert len(summaries) == 1, "only rank 0 prints the summary"
    summary = summaries[0]
    assert summary["step"] == 10 and summary["world_size"] == 2
    assert summary["effective_rays_per_step"] == 2 * summary["rays_per_step"] == 128
    # Every rank holds the same parameters at the end (each rank wrote its own digest: no collective involved).
    records = [json.loads((digests / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["rank"] for r in records] == [0, 1] and records[0]["step"] == records[1]["step"] == 10
    assert records[0]["digest"] == records[1]["digest"]
    # They also started from the same parameters (before the first gradient, not only after Jittor's own
    # step-0 broadcast), namely the single-process initialisation of the seed.
    assert records[0]["initial_digest"] == records[1]["initial_digest"] == single_process_initial_digest()
    # ... and at every checkpoint, which also holds both ranks' sampler streams (different rays per rank).
    found = checkpoints(run_dir)
    assert [p.name for p in found] == ["step_00000005.ckpt", "step_00000010.ckpt"]
    for path in found:
        state = load_checkpoint(path)
        assert state["world_size"] == 2
        assert len(state["param_digest_per_rank"]) == 2
        assert len(set(state["param_digest_per_rank"])) == 1
        first, second = state["sampler_per_rank"]
        assert first["rng"] != second["rng"]
    assert load_checkpoint(found[-1])["param_digest_per_rank"][0] == records[0]["digest"]
    # Validation ran under MPI (views shared out) and was logged once per validation step, by rank 0.
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    vals = [line for line in lines if "val_psnr" in line]
    assert [v["step"] for v in vals] == [5, 10] and all(v["val_views"] == 2 for v in vals)
    train_lines = [line for line in lines if "loss" in line]
    assert train_lines and all(line["effective_rays_per_step"] == 128 for line in train_lines)
    assert not list((run_dir / "checkpoints").glob(".*.tmp"))


def test_ranks_draw_different_rays():
    sys.path.insert(0, str(REPO))
    from jneusample.data import DEMO_SCENE, load_scene
    from jneusample.data.batches import RayBatcher

    scene = load_scene(DEMO_SCENE, factor=1, testskip=1)
    batches = [RayBatcher(scene, 64, 1.0, 0, seed=0, stream=rank).sample(step=3) for rank in (0, 1)]
    assert not np.array_equal(batches[0].directions, batches[1].directions)


def test_resume_with_a_different_number_of_ranks(run_2ranks, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(run_2ranks[0], run_dir)
    # 2 → 1 rank.
    jneusample(*TRAIN, "--steps", "15", "--out", str(run_dir), "--resume")
    state = load_checkpoint(checkpoints(run_dir)[-1])
    assert state["step"] == 15 and state["world_size"] == 1 and len(state["sampler_per_rank"]) == 1
    # 1 → 2 ranks.
    digests = tmp_path / "digests"
    result = jneusample(*TRAIN, "--steps", "20", "--out", str(run_dir), "--resume", ranks=2,
                        env=environment(JNEUSAMPLE_PARAM_DIGEST_DIR=str(digests)))
    assert json_lines(result.stdout)[-1]["step"] == 20
    state = load_checkpoint(checkpoints(run_dir)[-1])
    assert state["step"] == 20 and state["world_size"] == 2
    assert len(set(state["param_digest_per_rank"])) == 1
    first, second = state["sampler_per_rank"]
    assert first["rng"] != second["rng"], "fresh, distinct streams after a change of rank count"
    records = [json.loads((digests / f"rank{r}.json").read_text()) for r in range(2)]
    assert records[0]["digest"] == records[1]["digest"]
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps), "metrics log continues in order across resumes"


def test_evaluation_on_two_ranks_equals_one(run_2ranks, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(run_2ranks[0], run_dir)
    args = ("eval", "--run", str(run_dir), "--lpips", "none", "--no-progress")
    single = json_lines(jneusample(*args, "--no-images").stdout)[-1]
    single_records = json.loads((run_dir / "eval_test" / "results.json").read_text())["per_image"]
    result = jneusample(*args, ranks=2)
    assert len(json_lines(result.stdout)) == 1, "only rank 0 prints the results"
    report = json.loads((run_dir / "eval_test" / "results.json").read_text())
    assert report["world_size"] == 2 and report["n_images"] == single["n_images"] == 8
    assert [r["index"] for r in report["per_image"]] == [r["index"] for r in single_records] == list(range(8))
    for mine, reference in zip(report["per_image"], single_records):
        assert mine["name"] == reference["name"]
        assert mine["psnr"] == pytest.approx(reference["psnr"], abs=1e-5)
        assert mine["ssim"] == pytest.approx(reference["ssim"], abs=1e-6)
    assert report["psnr"] == pytest.approx(single["psnr"], abs=1e-5)
    for name in (r["name"] for r in single_records):  # both ranks wrote their share of the images
        assert (run_dir / "eval_test" / f"{name.replace('/', '_')}_rgb.png").exists()


def test_two_ranks_times_b_rays_equal_one_rank_times_2b(tmp_path):
    worker = str(HERE / "one_step_worker.py")
    check(run([sys.executable, worker, str(tmp_path / "one"), "--rays", "128"]))
    check(run(mpi_command(2, worker, str(tmp_path / "two"), "--rays", "128")))
    one = np.load(tmp_path / "one" / "rank0.npz")
    two = [np.load(tmp_path / "two" / f"rank{r}.npz") for r in range(2)]
    assert int(one["world_size"]) == 1 and int(two[0]["world_size"]) == 2
    # The loss is a mean over rays: the mean of the two ranks' losses is the loss over all 2B rays.
    assert float(one["loss"]) == pytest.approx((float(two[0]["loss"]) + float(two[1]["loss"])) / 2, rel=1e-5)
    keys = [k for k in one.files if k.startswith(("grad/", "param/"))]
    assert any(k.startswith("grad/") for k in keys) and any(k.startswith("param/") for k in keys)
    for key in keys:
        # Both ranks hold exactly the same averaged gradients and updated parameters.
        np.testing.assert_array_equal(two[0][key], two[1][key], err_msg=key)
        if key.startswith("grad/"):  # averaged (not summed) gradients equal the 2B-ray gradients
            scale = float(np.abs(one[key]).max()) + 1e-12
            np.testing.assert_allclose(two[0][key], one[key], rtol=1e-4, atol=1e-5 * scale, err_msg=key)
        else:  # lr is 5e-4: an update that differed in any way would show far above 1e-6
            np.testing.assert_allclose(two[0][key], one[key], rtol=0, atol=1e-6, err_msg=key)


def test_gather_objects_broadcast_and_collectives(tmp_path):
    check(run(mpi_command(2, str(HERE / "collectives_worker.py"), str(tmp_path))))
    spec = importlib.util.spec_from_file_location("collectives_worker", HERE / "collectives_worker.py")
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)
    results = [pickle.loads((tmp_path / f"rank{r}.pkl").read_bytes()) for r in range(2)]
    for me, result in enumerate(results):
        assert result["size"] == 2
        assert len(result["gathered"]) == 2
        for sender, received in enumerate(result["gathered"]):
            expected = worker.sent_by(sender)
            array = received.pop("array")
            np.testing.assert_array_equal(array, expected.pop("array"))
            assert array.dtype == np.float32
            assert received == expected, f"rank {me} got a corrupted object from rank {sender}"
        assert result["shards"] == [[0, 2, 4, 6, 8, 10], [1, 3, 5, 7, 9]]
        assert result["any"] is True and result["none"] is False
        assert result["digests"] == [result["after"]] * 2
    assert results[0]["before"] != results[1]["before"], "Jittor's default seeding differs per rank"
    assert results[0]["after"] == results[1]["after"] == results[0]["before"], "rank 0's parameters everywhere"


def _rank_pid(mpirun_pid: int, rank: int) -> int | None:
    """PID of the given rank among mpirun's children (read from the OMPI_COMM_WORLD_RANK they inherit)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent != mpirun_pid:
                continue
            env = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if f"OMPI_COMM_WORLD_RANK={rank}".encode() in env:
            return int(entry.name)
    return None


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find a rank's PID")
def test_killed_rank_stops_the_job_and_keeps_the_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    command = mpi_command(2, "-m", "jneusample", *TRAIN, "--steps", "100000", "--out", str(run_dir),
                          "--set", "train.validate_every=0")
    process = subprocess.Popen(command, cwd=REPO, env=environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.time() + JOB_TIMEOUT
        while len(checkpoints(run_dir)) < 2 and time.time() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert len(checkpoints(run_dir)) >= 2, f"no checkpoints appeared ({process.poll()=})"
        victim = _rank_pid(process.pid, 1)
        assert victim is not None, "rank 1 not found among mpirun's children"
        os.kill(victim, signal.SIGKILL)
        try:  # a hang guard, not a timing assert: how fast mpirun notices depends on the machine's load
            _, stderr = process.communicate(timeout=JOB_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the job did not stop within {JOB_TIMEOUT}s after rank 1 was killed")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    # The job fails as a whole; how mpirun words it is OpenMPI's business, so only the exit status is checked.
    assert process.returncode != 0, stderr[-2000:]
    # Every checkpoint that carries a final name is complete and loads; a resume continues from the latest.
    found = checkpoints(run_dir)
    steps = [load_checkpoint(path)["step"] for path in found]
    resumed = json_lines(jneusample(*TRAIN, "--steps", str(steps[-1] + 2), "--out", str(run_dir), "--resume",
                                    "--set", "train.validate_every=0").stdout)[-1]
    assert resumed["step"] == steps[-1] + 2
    assert not list((run_dir / "checkpoints").glob(".*.tmp")), "temporaries of a cut-short write are removed"
