#!/usr/bin/env python3
"""Training throughput with 1 process vs ``mpirun -np 2`` on this machine (points per second over all ranks).

    python benchmarks/mpi_scaling.py                 # cpu preset, 1024 rays per rank and step, demo scene
    python benchmarks/mpi_scaling.py --steps 60 --rays 2048 --data ../shared/data/nerf_synthetic/lego --factor 8

Four runs of the same config:

* ``1 process``: R rays per step, started plainly and under ``mpirun -np 1`` (bound to one core);
* ``2 ranks, R rays each`` (weak scaling: effective batch 2R, what ``mpirun`` does with an unchanged config);
* ``2 ranks, R/2 rays each`` (strong scaling: the same effective batch R as the single process).

Throughput is measured from ``metrics.jsonl`` between the first log line after ``--warmup`` steps and the last
one, so Jittor's compilation of the first steps is excluded. Points = rays × samples per ray, summed over ranks.
Writes ``--out``/mpi_scaling.json and benchmarks/results/mpi_scaling.json (with the run's provenance: date,
command, machine, load average, git commit), and adds one row per run to the "MPI scaling" table of docs/benchmarks.md
(unless ``--no-docs``).

On a machine whose ranks share the same few CPU cores (this one: 2 cores) little speed-up is to be expected:
the ranks compete for the cores a single Jittor process already partly uses, and each step adds a gradient
all-reduce. Two things blur the comparison on a shared machine: ``mpirun -np 2`` binds each rank to one core
(a single process floats over both), and other jobs' load takes a share of the cores that grows with the
number of our processes. Hence the recorded load average and ``cores_busy`` (CPU seconds / wall seconds).
MPI pays off with one rank per GPU or per host (see docs/distributed.md).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SECTION = "## MPI scaling on one machine — `benchmarks/mpi_scaling.py`"
TABLE_HEADER = ("| date | scene | preset | processes × rays | effective rays / step | train points/s | vs 1 process | "
                "cores busy | load avg (1 min) |\n|---|---|---|---|---|---|---|---|---|")
SECTION_TEXT = f"""{SECTION}

`python benchmarks/mpi_scaling.py` trains the same config (default: `cpu` preset, demo scene, 40 steps, the first
10 untimed) as 1 process with R rays per step (plain, and under `mpirun -np 1`, which binds it to one core), as
`mpirun -np 2` with R rays per rank (effective batch 2R), and as `mpirun -np 2` with R/2 rays per rank
(effective batch R). Points/s are summed over ranks. Cores busy = CPU
seconds / wall seconds of the whole run; the load average shows what other jobs took. On one shared CPU this is
no measure of multi-GPU scaling (see docs/distributed.md). JSON: `benchmarks/out/mpi_scaling/mpi_scaling.json`.

{TABLE_HEADER}
"""


def add_rows(docs: Path, rows: list[str]) -> None:
    """Append ``rows`` to the end of this benchmark's table in ``docs``, creating the section when missing."""
    text = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
    if SECTION not in text:  # before the other sections: a script that appends to the file's end keeps its table
        first = text.find("\n## ")
        text = (text[:first + 1] + SECTION_TEXT + "\n" + text[first + 1:] if first >= 0
                else text.rstrip("\n") + "\n\n" + SECTION_TEXT)
    table = text.index(TABLE_HEADER, text.index(SECTION)) + len(TABLE_HEADER)
    lines = text[table:].split("\n")
    last = 1  # lines[0] is what follows the header on its own line (empty)
    while last < len(lines) and lines[last].startswith("|"):
        last += 1
    before, after = "\n".join(lines[:last]), "\n".join(lines[last:])
    docs.write_text(text[:table] + before + "\n" + "\n".join(rows) + ("\n" + after if after else "\n"),
                    encoding="utf-8")


def train(ranks: int, rays: int, args, out: Path, via_mpirun: bool) -> dict:
    """One training run; returns its throughput numbers."""
    run_dir = out / f"np{ranks}_rays{rays}{'_mpirun' if via_mpirun else ''}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    command = [sys.executable, "-m", "jneusample", "train", "--preset", args.preset, "--out", str(run_dir),
               "--steps", str(args.steps), "--no-progress",
               "--set", f"train.rays_per_step={rays}", "--set", "train.log_every=5",
               "--set", "train.validate_every=0", "--set", f"train.checkpoint_every={args.steps}",
               "--set", "train.precrop_steps=0"]
    if args.data:
        command += ["--data", args.data]
    if args.factor:
        command += ["--factor", str(args.factor)]
    if via_mpirun:
        command = [shutil.which("mpirun"), "--allow-run-as-root", "--oversubscribe", "-np", str(ranks),
                   "-x", "PYTHONPATH", *command]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
               JNEUSAMPLE_NO_RELAUNCH="1")  # the cpu preset would relaunch the "1 process" run as 2 ranks
    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=args.timeout)
    wall = time.time() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(f"error: {' '.join(command)} failed:\n{result.stderr[-3000:]}")
    summary = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    lines = [line for line in lines if "loss" in line]
    first = next(line for line in lines if line["step"] >= args.warmup)
    last = lines[-1]
    config = json.loads((run_dir / "config.json").read_text())
    points_per_step = rays * ranks * config["model"]["n_samples"]
    seconds = last["elapsed_s"] - first["elapsed_s"]
    return {
        "ranks": ranks, "mpirun": via_mpirun, "rays_per_rank": rays, "effective_rays_per_step": summary["effective_rays_per_step"],
        "points_per_step": points_per_step, "timed_steps": last["step"] - first["step"],
        "seconds": round(seconds, 3),
        "steps_per_sec": round((last["step"] - first["step"]) / seconds, 3),
        "points_per_sec": round(points_per_step * (last["step"] - first["step"]) / seconds),
        "wall_s": round(wall, 1),
        # Whole run, start-up and compilation included: how many cores the job kept busy, and the work per
        # CPU-second (robust to other load on the machine, unlike points/s).
        "cpu_s": round(cpu_seconds, 1), "cores_busy": round(cpu_seconds / wall, 2),
        "points_per_cpu_sec": round(points_per_step * args.steps / cpu_seconds),
        "loadavg_1min_before": round(load_before, 2), "loadavg_1min_after": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="cpu", choices=("cpu", "tiny", "paper"))
    parser.add_argument("--rays", type=int, default=1024, help="rays per step of the single process (R)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=10, help="steps excluded from the timing (compilation)")
    parser.add_argument("--data", default=None, help="scene folder (default: the embedded demo scene)")
    parser.add_argument("--factor", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per run")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "out" / "mpi_scaling"))
    parser.add_argument("--no-docs", action="store_true", help="do not append to docs/benchmarks.md")
    args = parser.parse_args()
    if shutil.which("mpirun") is None:
        raise SystemExit("error: mpirun not found; apt-get install -y openmpi-bin libopenmpi-dev")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    # mpirun -np 1 separates the effect of mpirun's core binding from that of a second rank.
    for ranks, rays, via_mpirun in ((1, args.rays, False), (1, args.rays, True), (2, args.rays, True),
                                    (2, args.rays // 2, True)):
        print(f"training: {ranks} process(es) x {rays} rays{' (mpirun)' if via_mpirun else ''} ...",
              file=sys.stderr, flush=True)
        runs.append(train(ranks, rays, args, out, via_mpirun))
        print(json.dumps(runs[-1]), flush=True)
    base = runs[0]["points_per_sec"]
    for record in runs:
        record["speedup_vs_1"] = round(record["points_per_sec"] / base, 3)
    report = {
        "benchmark": "mpi_scaling", "date": time.strftime("%Y-%m-%d"), "preset": args.preset,
        "data": args.data or "demo scene (64x64)", "steps": args.steps, "warmup": args.warmup,
        "cpu_cores": os.cpu_count(), "machine": platform.processor() or platform.machine(), "runs": runs,
        "note": ("all ranks share this machine's CPU cores (and other jobs' load, see loadavg): a speed-up "
                 "comes only from cores a single Jittor process leaves idle (cores_busy)"),
    }
    (out / "mpi_scaling.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {write_result('mpi_scaling', report)}")  # with date, command, machine, load and git commit
    print(json.dumps(report, indent=2))
    scene = Path(args.data).name if args.data else "demo"
    scene += f" x{args.factor}" if args.factor else ""
    rows = [f"| {report['date']} | {scene} | {args.preset} | {r['ranks']} × {r['rays_per_rank']}"
            f"{' (mpirun)' if r['mpirun'] else ''} | "
            f"{r['effective_rays_per_step']} | {r['points_per_sec']} | {r['speedup_vs_1']:.2f}× | {r['cores_busy']} | "
            f"{r['loadavg_1min_before']}–{r['loadavg_1min_after']} |" for r in runs]
    print("\n".join(rows))
    if not args.no_docs:
        add_rows(REPO / "docs" / "benchmarks.md", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
