"""What every script in benchmarks/ shares; a script declares what it measures (docstring + :class:`Spec`).

Options (:meth:`Spec.parser`), runs of the CLI and reading a run's folder (:func:`jneusample`, :func:`evaluated`,
:func:`metrics`), the alone-on-the-machine check (:class:`Alone`), repeats (:func:`alternate`), the one results
writer (:meth:`Spec.write`: ``benchmarks/results/NAME.json`` with :mod:`jneusample.platform.provenance`'s date,
command, machine, git commit and load average) and figures (:func:`figure`, :func:`save_figure`).
"""
from __future__ import annotations

import argparse
import fcntl
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DATA = REPO.parent / "shared" / "data"
DEMO = REPO / "jneusample" / "assets" / "demo_scene"
if str(REPO) not in sys.path:
    sys.path.insert(1, str(REPO))
from jneusample.platform import fileio  # noqa: E402
from jneusample.platform.provenance import LoadMonitor, machine_info, run_record  # noqa: E402,F401

SCENES = {"demo": (DEMO, 1, 1), "lego": (DATA / "nerf_synthetic" / "lego", 8, 8),
          "fern": (DATA / "nerf_llff_data" / "fern", 8, 1)}
"""name → (folder, factor, eval --skip): every 8th of lego's 200 test views, all of fern's 3 and the demo's 8."""


def sets(overrides: list[str]) -> list[str]:
    """``--set`` arguments of config overrides."""
    return [x for value in overrides for x in ("--set", value)]


def parse_list(kind: Callable = str) -> Callable[[str], list]:
    """An argparse type: 'a,b' → [kind(a), kind(b)]."""
    return lambda text: [kind(item.strip()) for item in text.split(",") if item.strip()]


def need(*paths: Path) -> None:
    """Exit with one line when a scene folder (or other input) is missing."""
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise SystemExit(f"error: not found: {', '.join(missing)}")


@dataclass
class Spec:
    """What a benchmark script measures and which shared options it takes."""

    name: str  # its results file: benchmarks/results/NAME.json (``--name`` / ``--results`` elsewhere)
    doc: str  # the script's docstring; its first line, what the numbers are, is the file's ``what``
    out: str | None = None  # default of ``--out``, where its runs go (never committed); None: no ``--out``
    minutes: float | None = None  # default of ``--minutes``, each model's training wall clock
    repeats: int | None = None  # default of ``--repeats`` (alias ``--rounds``): passes over the variants
    quick: str | None = None  # what ``--quick`` (alias ``--tiny``) does: a toy-size run

    def parser(self) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(description=self.doc, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("--name", default=self.name, help="results file benchmarks/results/NAME.json")
        parser.add_argument("--results", type=Path, default=None, help="results file (default: from --name)")
        if self.out is not None:
            parser.add_argument("--out", default=self.out, help="where the runs go (not committed)")
        if self.minutes is not None:
            parser.add_argument("--minutes", type=float, default=self.minutes, help="training wall clock per model")
        if self.repeats is not None:
            parser.add_argument("--repeats", "--rounds", dest="repeats", type=int, default=self.repeats,
                                help="passes over the variants, interleaved")
        if self.quick:
            parser.add_argument("--quick", "--tiny", dest="quick", action="store_true", help=self.quick)
        return parser

    def parse(self, parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
        args = parser.parse_args(argv)
        args.results = Path(args.results) if args.results else RESULTS / f"{args.name}.json"
        return args

    def write(self, args: argparse.Namespace | None, update: dict | Callable[[dict], dict]) -> Path:
        """Write ``args.results``: provenance, ``what``, then ``update``: the payload, or a function of what the file
        holds that returns it (read under a lock on the folder: runs side by side keep each other's rows)."""
        path = Path(args.results) if args else RESULTS / f"{self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            fcntl.flock(folder, fcntl.LOCK_EX)
            stored = json.loads(path.read_text()) if path.exists() else {}
            what = self.doc.strip().split("\n")[0].rstrip(".")
            record = {**run_record(), "what": what, **(update(stored) if callable(update) else update)}
            fileio.write_json(path, record, indent=1)  # strict JSON (NaN → null), atomic
        finally:
            os.close(folder)
        print(f"wrote {path}", flush=True)
        return path


def merge_rows(rows: list[dict], row: dict, key: Callable[[dict], Any] | None = None) -> list[dict]:
    """``rows`` plus ``row``; with ``key``, minus the rows of the same key."""
    return [r for r in rows if key is None or key(r) != key(row)] + [row]


def stamp(row: dict) -> dict:
    """``row`` with its own date and git commit (for files whose rows come from several runs)."""
    record = run_record()
    return {**row, "date": record["date"], "git_commit": record["git_commit"]}


class Alone(LoadMonitor):
    """The 1-minute load average before, during (every ``interval`` s) and after a timed run; warns when the machine
    was busy before it, or busier during it than ``processes`` of ours (default: one per core) explain.

    Before the run it waits (at most ``settle`` seconds) for the average to fall to ``spare``: right after a
    previous run of ours the 1-minute average still holds that run's load (it halves in about 42 s), which is no
    other process; a machine still busy after ``settle`` seconds is."""

    def __init__(self, label: str = "run", processes: int | None = None, interval: float = 10.0,
                 settle: float = 150.0):
        super().__init__(interval)
        self.label, self.cores, self.settle = label, len(os.sched_getaffinity(0)), settle
        self.processes, self.spare = processes or self.cores, max(1.0, self.cores / 4)
        self.before = self.after = os.getloadavg()[0]
        self.waited, self.alone = 0.0, True

    def __enter__(self) -> "Alone":
        began = time.monotonic()
        while os.getloadavg()[0] > self.spare and time.monotonic() - began < self.settle:
            time.sleep(5)
        self.before, self.waited = os.getloadavg()[0], time.monotonic() - began
        self._check(self.before > self.spare, f"load average {self.before:.2f} before it (after {self.waited:.0f} s)")
        return super().__enter__()

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self.after = self.samples[-1]
        mean = super().summary()["mean"]
        self._check(mean > self.processes + self.spare, f"mean load average {mean:.2f} during it")

    def _check(self, busy: bool, what: str) -> None:
        if busy:
            self.alone = False
            print(f"warning: {self.label}: {what} on {self.cores} cores: other processes load this machine, "
                  "its timings are not alone", file=sys.stderr, flush=True)

    def summary(self) -> dict[str, Any]:
        return {**super().summary(), "before": round(self.before, 2), "after": round(self.after, 2),
                "waited_s": round(self.waited), "alone": self.alone}


def alternate(variants: dict[str, Callable[[], dict]], repeats: int) -> dict[str, list[dict]]:
    """``repeats`` passes over ``variants`` (a, b, a, b, …), so that a change of load hits every variant alike."""
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, measure in variants.items():
            runs[name].append(measure())
            print(name, json.dumps(runs[name][-1]), flush=True)
    return runs


def run(command: list[str], *, cwd: Path = REPO, env: dict | None = None, log: Path | None = None,
        capture: bool = False, timeout: float | None = None) -> subprocess.CompletedProcess:
    """``command`` as a fresh process (checked); its output to the terminal, appended to ``log``, or its standard
    output captured (``capture``)."""
    print("+", " ".join(map(str, command)), flush=True)
    env = {**os.environ, **(env or {})}
    if log:
        with open(log, "a") as handle:
            handle.write("$ " + " ".join(map(str, command)) + "\n")
            handle.flush()
            return subprocess.run(command, cwd=cwd, env=env, check=True, stdout=handle, stderr=subprocess.STDOUT,
                                  timeout=timeout)
    return subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.PIPE if capture else None,
                          text=True, timeout=timeout)


def jneusample(command: list[str], *, one_process: bool = False, in_process: bool = False,
               python: str = sys.executable, **kwargs) -> subprocess.CompletedProcess | None:
    """``python -m jneusample COMMAND`` as a fresh process (which starts the preset's MPI ranks unless
    ``one_process``), or ``in_process`` (no Jittor start-up per command: the toy-size modes)."""
    if in_process:
        from jneusample.cli import main as cli

        print("+ jneusample", " ".join(command), flush=True)
        if cli(command) != 0:
            raise SystemExit(f"failed: jneusample {' '.join(command)}")
        return None
    env = {**(kwargs.pop("env", None) or {}), **({"JNEUSAMPLE_NO_RELAUNCH": "1"} if one_process else {})}
    return run([python, "-m", "jneusample", *command], env=env, **kwargs)


def trained(command: list[str], run_dir: Path, label: str, settle: float = 150.0, **how) -> dict:
    """Train (``--resume`` when ``run_dir`` has checkpoints) alone on the machine (:class:`Alone`, waiting at most
    ``settle`` s for a quiet start): steps, minutes, load, command."""
    with Alone(label, settle=settle) as load:
        started = time.time()  # after the wait for a quiet machine
        jneusample(command + (["--resume"] if (Path(run_dir) / "checkpoints").exists() else []), **how)
    return {"steps": latest_step(run_dir), "minutes": round((time.time() - started) / 60, 1),
            "load_average": load.summary(), "command": "jneusample " + " ".join(command)}


def latest_step(run_dir: Path) -> int:
    return max(int(p.stem.split("_")[1]) for p in (Path(run_dir) / "checkpoints").glob("step_*.ckpt"))


def metrics(run_dir: Path, kind: str = "train") -> list[dict]:
    """The run's metrics.jsonl records: ``train`` (with a loss), ``val`` (with a validation PSNR) or ``all``."""
    lines = [json.loads(l) for l in (Path(run_dir) / "metrics.jsonl").read_text().splitlines() if l.strip()]
    return [l for l in lines if kind == "all" or (kind == "train" and "loss" in l)
            or (kind == "val" and l.get("val_psnr") is not None)]


def val_curve(run_dir: Path) -> list[dict]:
    """Validation PSNR against minutes of training."""
    return [{"step": l["step"], "minutes": round(l["elapsed_s"] / 60, 2), "val_psnr": round(l["val_psnr"], 2)}
            for l in metrics(run_dir, "val")]


def evaluated(run_dir: Path, skip: int, samples: int | None = None, **kwargs) -> dict:
    """``jneusample eval --lpips none`` of the run's latest checkpoint on the test split (``--samples N``: at N),
    reused when it already evaluated that step; its results.json."""
    path = Path(run_dir) / (f"eval_test_n{samples}" if samples else "eval_test") / "results.json"
    if not (path.exists() and json.loads(path.read_text()).get("step") == latest_step(run_dir)):
        jneusample(eval_command(run_dir, skip, samples), **kwargs)
    return json.loads(path.read_text())


def eval_command(run_dir: Path, skip: int, samples: int | None = None) -> list[str]:
    return ["eval", "--run", str(run_dir), *(["--samples", str(samples)] if samples else []), "--skip", str(skip),
            "--lpips", "none", "--no-images", "--no-progress"]


def plot_options(parser: argparse.ArgumentParser, default: Path) -> None:
    parser.add_argument("--plot", action="store_true", help="draw the figure after measuring")
    parser.add_argument("--plot-only", action="store_true", help="only draw the figure from the results file")
    parser.add_argument("--figure", type=Path, default=default, help=f"the figure (default: {default})")


def figure(rows: int, cols: int, size: tuple[float, float]):
    """(figure, axes[rows][cols]) of matplotlib without a display; ``size``: one panel's (width, height)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)


def save_figure(fig, path: Path, dpi: int = 100) -> Path:
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, dpi=dpi, format="png")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fileio.atomic_write_bytes(path, image.getvalue())
    print(f"wrote {path}", flush=True)
    return path
