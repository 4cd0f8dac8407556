"""jneusample.platform.provenance: the date, command and machine every results file carries."""
import datetime as dt
import sys

from jneusample.platform.provenance import LoadMonitor, machine_info, run_record


def test_run_record_names_the_date_command_and_machine(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["bench.py", "--steps", "a b"])
    record = run_record()
    assert dt.datetime.fromisoformat(record["date"]).tzinfo is not None
    assert record["command"].endswith("bench.py --steps 'a b'")  # quoted as a shell would need it
    assert record["machine"] == machine_info()
    assert set(record["machine"]) >= {"cpu_model", "cores", "memory_gib", "avx512_bf16", "python", "jittor"}


def test_load_monitor_summarises_at_least_one_sample():
    with LoadMonitor(interval=60.0) as load:
        pass
    summary = load.summary()
    assert len(load.samples) >= 1 and summary["min"] <= summary["mean"] <= summary["max"]


def test_git_commit_is_dirty_for_code_but_not_for_what_benchmarks_write(tmp_path):
    """A benchmark writes its results file row by row: its own earlier row must not stamp the next one dirty,
    while a changed source file does."""
    import subprocess

    from jneusample.platform.provenance import git_commit

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "a.json").write_text("{}")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "start")
    commit = git_commit(tmp_path)
    assert len(commit) == 40
    (tmp_path / "benchmarks" / "results" / "a.json").write_text('{"rows": [1]}')
    assert git_commit(tmp_path) == commit
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == commit + "-dirty"
