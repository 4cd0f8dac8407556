"""benchmarks/any_n_levers.py: rows read from run folders (any-N and paper-head runs), merged per scene."""
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))  # the scripts import their harness from there
import any_n_levers as levers  # noqa: E402


def _fake_run(root: Path, model: dict, results: dict[str, dict]) -> Path:
    """A run folder as train + eval leave it: config.json, checkpoints with val.json, eval_test*/results.json."""
    (root / "checkpoints").mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"model": model, "train": {"sample_field_lr_scale": 0.25}}))
    for step in (500, 1000):
        (root / "checkpoints" / f"step_{step:08d}.ckpt").write_bytes(b"")
    (root / "checkpoints" / "val.json").write_text(json.dumps({"500": 17.0, "1000": 18.5}))
    for folder, values in results.items():
        (root / folder).mkdir()
        (root / folder / "results.json").write_text(json.dumps(values))
    return root


def test_rows_of_an_any_n_run_and_a_paper_head_control_merge_into_the_scene(tmp_path):
    any_n = _fake_run(tmp_path / "any", {"sample_field_head": "quantile", "n_samples": 32,
                                          "interval_encoding": True},
                      {"eval_test_n16": {"points_per_ray": 16, "psnr": 20.12345},
                       "eval_test_n8": {"points_per_ray": 8, "psnr": 19.5}})
    paper = _fake_run(tmp_path / "paper", {"sample_field_head": "paper", "n_samples": 8},
                      {"eval_test": {"points_per_ray": 8, "psnr": 18.25}})
    results = tmp_path / "results"
    assert levers.main(["--scene", "lego", f"ie={any_n}", "--results", str(results / "any_n_levers.json")]) == 0
    assert levers.main(["--scene", "lego", f"paper-n8={paper}", "--results", str(results / "any_n_levers.json")]) == 0
    scene = json.loads((results / "any_n_levers.json").read_text())["scenes"]["lego"]
    assert sorted(scene) == ["ie", "paper-n8"]  # the second call kept the first's row
    assert scene["ie"]["test_psnr_by_n"] == {"8": 19.5, "16": 20.123}  # ordered by N, 3 decimals
    assert scene["ie"]["steps"] == 1000 and scene["ie"]["last_val"] == 18.5
    assert scene["ie"]["levers"]["model.interval_encoding"] is True
    assert scene["ie"]["levers"]["train.sample_field_lr_scale"] == 0.25
    assert scene["paper-n8"]["test_psnr_by_n"] == {"8": 18.25}
    assert scene["paper-n8"]["levers"]["model.sample_field_head"] == "paper"
    assert scene["paper-n8"]["levers"]["model.sample_field_jitter"] is None  # not in its config
