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
