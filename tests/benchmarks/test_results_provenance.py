"""Every results file says where its numbers come from: date, command, machine, git commit and load average.

benchmarks/harness.py stamps them on every write; the files listed in LEGACY were written (some assembled by hand)
before the commit and the load were recorded, and lose their place here only by being measured again."""
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROVENANCE = ("date", "command", "machine", "git_commit")

LEGACY = {
    "any_n.json", "any_n_levers.json", "any_n_points_share.json", "any_n_seed1.json", "any_n_without_levers.json",
    "bench_100x100.json", "demo.json", "demo_equal_steps.json", "demo_levers_3min.json", "demo_lr_floor.json",
    "demo_variants_3min.json", "equal_steps.json", "equal_steps_compare.json", "extraction_distill.json",
    "learn_fast.json", "learn_fast_5min.json", "lego_peak_lr_4e-3.json", "render_memory.json",
    "sample_field_alive.json", "train_profile.json", "train_throughput.json",
}
"""Results files without a git commit (or without the load average) from before provenance was complete."""


def missing(record: dict) -> list[str]:
    absent = [key for key in PROVENANCE if key not in record]
    if not any(key.startswith("load") for key in record):
        absent.append("load average")
    return absent


def test_every_results_file_records_its_provenance():
    incomplete = {}
    for path in sorted((REPO / "benchmarks" / "results").glob("*.json")):
        record = json.loads(path.read_text())
        gaps = missing(record) if isinstance(record, dict) else ["a JSON object"]
        if gaps and path.name not in LEGACY:
            incomplete[path.name] = gaps
    assert not incomplete, f"results files without provenance: {incomplete}"


def test_the_legacy_list_only_holds_files_that_still_lack_it():
    for name in sorted(LEGACY):
        path = REPO / "benchmarks" / "results" / name
        assert path.is_file() and missing(json.loads(path.read_text())), f"{name}: remove it from LEGACY"
