"""Evaluation writes its folder completely or not at all, and its results are strict JSON."""
import json
import shutil

from conftest import error_line
from diskfull import disk_full  # noqa: F401  (fixture)
from jneusample.cli import main


def test_disk_full_in_eval_is_one_line_and_leaves_no_folder(run_dir, tmp_path, capsys, disk_full):  # noqa: F811
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    disk_full("_depth.png")
    code = main(["eval", "--run", str(run), "--lpips", "none", "--no-progress", "--skip", "4"])
    assert code == 2 and error_line(capsys.readouterr().err).startswith(f"error: disk full: {run / 'eval_test'}")
    assert sorted(p.name for p in run.iterdir() if p.name.startswith((".eval", "eval"))) == []


def test_eval_results_are_strict_json(run_dir, tmp_path, monkeypatch):
    # identical images (an infinite PSNR) and a NaN metric: the file must still parse as strict JSON, with null
    from jneusample.evaluation import evaluate

    monkeypatch.setattr(evaluate, "image_metrics",
                        lambda prediction, target, nets: {"psnr": float("inf"), "ssim": float("nan")})
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    assert main(["eval", "--run", str(run), "--lpips", "none", "--no-progress", "--skip", "4"]) == 0
    text = (run / "eval_test" / "results.json").read_text()

    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    results = json.loads(text, parse_constant=refuse)
    assert results["psnr"] is None and results["ssim"] is None
    assert [r["psnr"] for r in results["per_image"]] == [None, None]


def test_every_rank_evaluates_the_checkpoint_rank_0_chose(run_dir, tmp_path, monkeypatch):
    """Under MPI a run still training can move 'latest' between two ranks' reads: evaluate() gathers the ranks'
    choices and evaluates rank 0's. Here rank 0 (the gathered list's first entry) chose another file than this
    process found as 'latest'; the results name rank 0's."""
    from jneusample.evaluation import evaluate
    from jneusample.platform.checkpoint import latest_checkpoint

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    latest = latest_checkpoint(run)
    chosen = run / "rank0_choice.ckpt"
    shutil.copyfile(latest, chosen)
    gathered = []

    def gather_objects(obj):
        gathered.append(obj)
        return [str(chosen), obj] if obj == str(latest) else [obj]  # the checkpoint choice: rank 0's comes first

    monkeypatch.setattr(evaluate, "gather_objects", gather_objects)
    assert main(["eval", "--run", str(run), "--lpips", "none", "--no-progress", "--skip", "4"]) == 0
    assert str(latest) in gathered  # this rank offered its own choice
    assert json.loads((run / "eval_test" / "results.json").read_text())["checkpoint"] == str(chosen)
