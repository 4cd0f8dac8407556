"""Training points/s summed over ranks: 1 process, ``mpirun -np 1``, 2 ranks × R rays, 2 ranks × R/2 rays, and 2
ranks on two "hosts"; the all-reduces' share of a step.

    python benchmarks/mpi_scaling.py                 # cpu preset, 1024 rays per rank and step, demo scene
    python benchmarks/mpi_scaling.py --steps 60 --rays 2048 --data ../shared/data/nerf_synthetic/lego --factor 8

The same config, 4 runs: 1 process with R rays per step, plainly and under ``mpirun -np 1`` (bound to one core);
2 ranks with R rays each (what ``mpirun`` does with an unchanged config) and with R/2 (the same batch). Rates are
taken between the first log line after ``--warmup`` steps and the last (compilation excluded); also cores busy
(CPU seconds / wall seconds) and the load. Ranks on one machine's few cores compete with each other and with other
jobs; MPI pays off with one rank per GPU or host (docs/distributed.md).

Two hosts (``--two-hosts``, on by default where root can make namespaces): the 2 × R run again with one rank in
each of ``benchmarks/two_hosts.py``'s network namespaces, talking over TCP through a veth pair instead of shared
memory; the same two cores run both. The all-reduces of a step (every gradient, and the three one-number sums of
the clock, the stop signal and the divergence check) are timed apart by ``benchmarks/mpi_allreduce_worker.py``
on one host and on two; their share is that time × the 2 × R run's steps per second.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import harness as h
from two_hosts import TwoHosts, Unavailable

SPEC = h.Spec("mpi_scaling", __doc__, out=str(h.REPO / "benchmarks" / "out" / "mpi_scaling"))


def mpirun(ranks: int, program: list[str], hosts: TwoHosts | None = None) -> list[str]:
    """``mpirun -np RANKS PROGRAM`` on this host, or one rank on each of ``hosts``."""
    command = [shutil.which("mpirun"), "--allow-run-as-root", "--oversubscribe", "-np", str(ranks), "-x",
               "PYTHONPATH", *program]
    return hosts.command(command) if hosts is not None else command


def environment() -> dict[str, str]:
    """The runs' environment: this checkout on PYTHONPATH, no relaunch."""
    return dict(PYTHONPATH=os.pathsep.join(filter(None, [str(h.REPO), os.environ.get("PYTHONPATH")])),
                JNEUSAMPLE_NO_RELAUNCH="1")  # the cpu preset would relaunch the "1 process" run as 2 ranks


def all_reduce_seconds(hosts: TwoHosts | None, args) -> dict:
    """The worker's timing of a step's all-reduces on 2 ranks (one host, or ``hosts``)."""
    program = [sys.executable, str(h.REPO / "benchmarks" / "mpi_allreduce_worker.py"), "--preset", args.preset]
    with h.Alone(f"all-reduces on {2 if hosts else 1} host(s)", processes=2) as load:
        result = h.run(mpirun(2, program, hosts), env=environment(), capture=True, timeout=args.timeout)
    record = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    return {"hosts": 2 if hosts else 1, **record, "load_average": load.summary()}


def train(ranks: int, rays: int, via_mpirun: bool, args, hosts: TwoHosts | None = None) -> dict:
    """One training run; its throughput."""
    run_dir = Path(args.out) / f"np{ranks}_rays{rays}{'_mpirun' if via_mpirun else ''}{'_2hosts' if hosts else ''}"
    shutil.rmtree(run_dir, ignore_errors=True)
    command = [sys.executable, "-m", "jneusample", "train", "--preset", args.preset, "--out", str(run_dir),
               "--steps", str(args.steps), "--no-progress", "--set", f"train.rays_per_step={rays}",
               "--set", "train.log_every=5", "--set", "train.validate_every=0",
               "--set", f"train.checkpoint_every={args.steps}", "--set", "train.precrop_steps=0",
               *(["--data", args.data] if args.data else []), *(["--factor", str(args.factor)] if args.factor else [])]
    if via_mpirun:
        command = mpirun(ranks, command, hosts)
    env = environment()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with h.Alone(f"{ranks} x {rays} rays", processes=ranks) as load:
        started = time.time()
        result = h.run(command, env=env, capture=True, timeout=args.timeout)
        wall = time.time() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    summary = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    lines = h.metrics(run_dir)
    first, last = next(line for line in lines if line["step"] >= args.warmup), lines[-1]
    points_per_step = rays * ranks * json.loads((run_dir / "config.json").read_text())["model"]["n_samples"]
    steps, seconds = last["step"] - first["step"], last["elapsed_s"] - first["elapsed_s"]
    return {"ranks": ranks, "hosts": 2 if hosts else 1, "mpirun": via_mpirun, "rays_per_rank": rays,
            "effective_rays_per_step": summary["effective_rays_per_step"], "points_per_step": points_per_step,
            "timed_steps": steps, "seconds": round(seconds, 3), "steps_per_sec": round(steps / seconds, 3),
            "points_per_sec": round(points_per_step * steps / seconds), "wall_s": round(wall, 1),
            # whole run, start-up and compilation included: the cores the job kept busy and the work per CPU-second
            "cpu_s": round(cpu, 1), "cores_busy": round(cpu / wall, 2),
            "points_per_cpu_sec": round(points_per_step * args.steps / cpu),
            "loadavg_1min_before": load.summary()["before"], "loadavg_1min_after": load.summary()["after"],
            "load_average": load.summary()}


def main(argv: list[str] | None = None) -> int:
    parser = SPEC.parser()
    parser.add_argument("--preset", default="cpu", choices=("cpu", "tiny", "paper"))
    parser.add_argument("--rays", type=int, default=1024, help="rays per step of the single process (R)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=10, help="steps excluded from the timing (compilation)")
    parser.add_argument("--data", default=None, help="scene folder (default: the embedded demo scene)")
    parser.add_argument("--factor", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per run")
    parser.add_argument("--no-two-hosts", dest="two_hosts", action="store_false",
                        help="skip the runs on two namespace hosts")
    args = SPEC.parse(parser, argv)
    if shutil.which("mpirun") is None:
        raise SystemExit("error: mpirun not found; apt-get install -y openmpi-bin libopenmpi-dev")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    # mpirun -np 1 separates the effect of mpirun's core binding from that of a second rank
    runs = [train(ranks, rays, via_mpirun, args) for ranks, rays, via_mpirun in
            ((1, args.rays, False), (1, args.rays, True), (2, args.rays, True), (2, args.rays // 2, True))]
    all_reduces, two_hosts_skipped = [all_reduce_seconds(None, args)], None
    if args.two_hosts:
        try:
            with TwoHosts(Path(args.out)) as hosts:
                runs.append(train(2, args.rays, True, args, hosts))
                all_reduces.append(all_reduce_seconds(hosts, args))
        except Unavailable as exc:
            two_hosts_skipped = str(exc)
    for record in runs:
        record["speedup_vs_1"] = round(record["points_per_sec"] / runs[0]["points_per_sec"], 3)
    for record in all_reduces:  # the matching training run: 2 ranks x R rays on as many hosts
        step = next(r for r in runs if r["ranks"] == 2 and r["rays_per_rank"] == args.rays
                    and r["hosts"] == record["hosts"])
        record["seconds_per_step"] = round(1 / step["steps_per_sec"], 4)
        record["share_of_step"] = round((record["gradients_s"] + record["three_scalars_s"]) * step["steps_per_sec"], 4)
        record["three_scalars_share_of_step"] = round(record["three_scalars_s"] * step["steps_per_sec"], 4)
    SPEC.write(args, {"benchmark": "mpi_scaling", "preset": args.preset, "data": args.data or "demo scene (64x64)",
                      "steps": args.steps, "warmup": args.warmup, "cpu_cores": os.cpu_count(), "runs": runs,
                      "all_reduce": all_reduces, "two_hosts_skipped": two_hosts_skipped,
                      "note": "all ranks share this machine's CPU cores (and other jobs' load, see loadavg): a "
                              "speed-up comes only from cores a single Jittor process leaves idle (cores_busy); "
                              "the two hosts are network namespaces on the same two cores (TCP over a veth pair)"})
    for r in runs:
        print(f"{r['ranks']} x {r['rays_per_rank']}{' (mpirun)' if r['mpirun'] else ''} on {r['hosts']} host(s): "
              f"{r['points_per_sec']} points/s ({r['speedup_vs_1']:.2f}x), cores busy {r['cores_busy']}")
    for r in all_reduces:
        print(f"all-reduces on {r['hosts']} host(s): gradients {r['gradients_s'] * 1e3:.2f} ms, three scalars "
              f"{r['three_scalars_s'] * 1e3:.2f} ms per step: {100 * r['share_of_step']:.1f} % of a step")
    if two_hosts_skipped:
        print(f"two hosts skipped: {two_hosts_skipped}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
