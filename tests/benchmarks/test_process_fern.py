"""benchmarks/process_fern.py --train-minutes: the two runs it trains and what it compares (the runs faked)."""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
import process_fern as bench  # noqa: E402


def test_the_processed_scene_and_the_llff_poses_train_alike_and_compare_on_the_same_views(tmp_path, monkeypatch):
    trained, evaluated = [], []

    def fake_trained(command, run_dir, label, **how):
        trained.append(command)
        return {"steps": 100, "minutes": 1.0, "load_average": {"mean": 2.0}, "command": " ".join(command)}

    def fake_evaluated(run_dir, skip):
        evaluated.append((Path(run_dir).name, skip))
        psnr = 21.0 if "processed" in Path(run_dir).name else 21.5
        names = ["image000.png", "image008.png", "image016.png"] if "processed" in Path(run_dir).name else \
            ["image000", "image008", "image016"]
        return {"psnr": psnr, "ssim": 0.6, "height": 47, "width": 63, "per_image": [{"name": n} for n in names]}

    monkeypatch.setattr(bench.h, "trained", fake_trained)
    monkeypatch.setattr(bench.h, "evaluated", fake_evaluated)
    result = bench.train_both(tmp_path / "processed", tmp_path, 20.0)
    processed, llff = trained
    assert processed[processed.index("--data") + 1] == str(tmp_path / "processed") and "--factor" in processed
    assert processed[processed.index("--factor") + 1] == "1" and llff[llff.index("--factor") + 1] == "8"
    assert llff[llff.index("--data") + 1] == str(bench.FERN)
    for command in trained:  # the same preset and budget for both
        assert command[command.index("--preset") + 1] == "cpu" and command[command.index("--max-minutes") + 1] == "20"
    assert evaluated == [("processed-cpu-20min", 1), ("llff-cpu-20min", 1)]  # every held-out view
    assert result["same_test_views"] is True and result["psnr_difference_db"] == -0.5
