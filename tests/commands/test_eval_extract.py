"""`jneusample eval` and `jneusample extract` on a tiny trained run."""
import json
import pickle

import numpy as np
import pytest

from jneusample.data import DEMO_SCENE
from jneusample.cli import main
from jneusample.config import preset
from jneusample.data import load_scene
from jneusample.rendering import render_image, render_settings
from jneusample.platform.runs import load_run
from jneusample.training.trainer import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("evalrun")
    root = DEMO_SCENE  # smooth, learnable images (random fixtures cannot show a loss going down)
    config = preset("tiny")
    config.data.factor = 4
    config.train.steps = 30
    config.train.keep_checkpoints = 10  # the extraction keeps its step-0 checkpoint for the comparison
    scene = load_scene(root, factor=4, quiet=True)
    run = base / "run"
    train(config, scene, run, progress=False, scene_info={"data": str(root), "format": "blender", "factor": 4})
    return run, root


def loaded_points_per_ray(run) -> int:
    return load_run(run).model.points_per_ray


def test_points_per_ray_is_read_from_old_results_too():
    from jneusample.evaluation.evaluate import points_per_ray_of

    assert points_per_ray_of({"points_per_ray": 256}) == 256
    assert points_per_ray_of({"n_samples": 64, "samples_per_ray": 64}) == 64  # results.json before the rename


def test_eval_writes_consistent_results(trained, capsys):
    run, root = trained
    assert main(["eval", "--run", str(run), "--lpips", "none", "--no-progress"]) == 0
    results = json.loads((run / "eval_test" / "results.json").read_text())
    for key in ("psnr", "ssim", "n_images", "height", "width", "sec_per_image", "rays_per_sec",
                "points_per_ray", "split", "step", "per_image"):
        assert key in results, key
    assert "n_samples" not in results and results["points_per_ray"] == loaded_points_per_ray(run)
    assert results["n_images"] == 8 and results["height"] == 16 and results["split"] == "test"
    assert results["psnr"] == pytest.approx(np.mean([r["psnr"] for r in results["per_image"]]))
    # PSNR by hand from a fresh render of the first test view.
    loaded = load_run(run)
    scene = load_scene(root, factor=4, quiet=True)
    views = scene.split("test")
    image = render_image(loaded.model, scene, views.c2w[0], render_settings(scene, loaded.config, False), 1 << 14)
    mse = np.mean((image["color"] - views.images[0]) ** 2)
    assert results["per_image"][0]["psnr"] == pytest.approx(-10 * np.log10(mse), abs=1e-3)
    assert (run / "eval_test" / "results.md").read_text().count("|") > 10
    assert (run / "eval_test" / "r_0_rgb.png").exists() and (run / "eval_test" / "r_0_depth.png").exists()


def test_eval_bad_inputs(trained, tmp_path, capsys):
    run, _ = trained
    assert main(["eval", "--run", str(run), "--split", "nope", "--lpips", "none", "--no-progress"]) == 2
    assert "no split 'nope'" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text((run / "config.json").read_text())
    assert main(["eval", "--run", str(empty), "--no-progress"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    truncated = tmp_path / "truncated.ckpt"
    ckpt = sorted((run / "checkpoints").iterdir())[-1]
    truncated.write_bytes(ckpt.read_bytes()[:100])
    assert main(["eval", "--run", str(run), "--checkpoint", str(truncated), "--no-progress"]) == 2
    assert "truncated or foreign" in capsys.readouterr().err
    foreign = tmp_path / "foreign.ckpt"
    foreign.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    assert main(["eval", "--run", str(run), "--checkpoint", str(foreign), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "not a JNeuSample checkpoint" in err and err.count("\n") == 1


def train_views_mse(loaded, scene) -> float:
    """Photometric loss over every pixel of the training views, without noise (deterministic)."""
    views = scene.split("train")
    settings = render_settings(scene, loaded.config, False)
    errors = [np.mean((render_image(loaded.model, scene, c2w, settings, 1 << 14)["color"] - image) ** 2)
              for c2w, image in zip(views.c2w, views.images)]
    return float(np.mean(errors))


def test_extract_makes_a_smaller_sorted_field_and_fine_tunes_it(trained, tmp_path, capsys):
    run, root = trained
    out = tmp_path / "extracted"
    assert main(["extract", "--run", str(run), "--samples", "4", "--steps", "30", "--out", str(out),
                 "--no-progress"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["n_samples"] == 4 and config["extract"]["parent"] == str(run.resolve())
    child = load_run(out)
    assert child.model.points_per_ray == 4
    scene = load_scene(root, factor=4, quiet=True)
    image = render_image(child.model, scene, scene.split("test").c2w[0],
                         render_settings(scene, child.config, False), 1 << 14, keep=("color", "z"))
    z = image["z"].reshape(-1, 4)
    assert np.all(np.diff(z, axis=1) >= 0) and z.min() >= scene.near and z.max() <= scene.far
    start = load_run(out, out / "checkpoints" / "step_00000000.ckpt")  # the new head before fine-tuning
    assert start.model.points_per_ray == 4
    assert train_views_mse(child, scene) < train_views_mse(start, scene)  # fine-tuning lowers the loss
    assert main(["eval", "--run", str(out), "--lpips", "none", "--no-progress"]) == 0  # no extra flags needed


def test_extract_resume_and_bad_sample_counts(trained, tmp_path, capsys):
    run, _ = trained
    out = tmp_path / "x"
    assert main(["extract", "--run", str(run), "--samples", "3", "--steps", "4", "--out", str(out), "--no-progress"]) == 0
    assert main(["extract", "--run", str(run), "--samples", "3", "--steps", "6", "--out", str(out), "--resume",
                 "--no-progress"]) == 0
    assert sorted((out / "checkpoints").iterdir())[-1].name == "step_00000006.ckpt"
    for bad in ("8", "1", "20"):
        assert main(["extract", "--run", str(run), "--samples", bad, "--out", str(tmp_path / f"b{bad}"),
                     "--no-progress"]) == 2
        assert "1 < N_e < N" in capsys.readouterr().err
    assert main(["extract", "--run", str(tmp_path / "missing"), "--samples", "3", "--no-progress"]) == 2


def test_eval_refuses_an_unwritable_output(trained, tmp_path, capsys):
    run, _ = trained
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["eval", "--run", str(run), "--out", str(blocker), "--lpips", "none", "--no-progress"]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["eval", "--run", str(run), "--out", "/proc/jneusample", "--lpips", "none", "--no-progress"]) == 2
    assert "not writable" in capsys.readouterr().err


def test_extraction_refuses_an_any_n_parent(tmp_path):
    """The quantile head renders at any N already (--samples): extraction says so instead of replacing it."""
    from jneusample.errors import InputError
    from jneusample.training.extract import extraction_config

    parent = preset("tiny")
    parent.model.sample_field_head = "quantile"
    with pytest.raises(InputError, match="needs no extraction: render it at N_e with --samples"):
        extraction_config(parent, tmp_path / "parent", 10, 4, None)


def test_sigterm_to_extract_exits_143_with_the_stop_line_of_train(run_dir, tmp_path):
    """extract says what train says when stopped: the signal, the step, its checkpoint and the command that goes
    on (runguard.stopped_line), and exits 128 + 15."""
    import signal

    from conftest import JNEUSAMPLE, stop_once_written

    out = tmp_path / "extracted"
    command = JNEUSAMPLE + ["extract", "--run", str(run_dir), "--samples", "3", "--steps", "100000", "--out", str(out),
                            "--no-progress", "--set", "train.log_every=1"]
    status, stdout, err = stop_once_written(command, out / "metrics.jsonl", signal.SIGTERM)  # fine-tuning made a step
    assert status == 143, err
    assert "Traceback" not in err
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["stopped_early"] and summary["step"] > 0
    assert (f"stopped by SIGTERM at step {summary['step']} (checkpoint {summary['checkpoint']}); continue with: "
            f"jneusample extract --run {run_dir} --samples 3 --out {out} --resume") in err
