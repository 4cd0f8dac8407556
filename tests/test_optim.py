"""Learning-rate schedules: warm-up + linear decay, over steps or over a time budget."""
import numpy as np
import pytest

from jneusample.config import preset
from jneusample.optim import schedule_progress, warmup_linear_decay


def test_linear_decay_without_warmup_is_the_papers_poly():
    lr = warmup_linear_decay(5e-4, 5e-6)
    assert lr(0.0) == pytest.approx(5e-4)
    assert lr(0.5) == pytest.approx((5e-4 - 5e-6) * 0.5 + 5e-6)
    assert lr(1.0) == pytest.approx(5e-6)
    assert lr(2.0) == pytest.approx(5e-6)  # clamped past the end


def test_warmup_ramps_from_a_tenth_then_decays():
    lr = warmup_linear_decay(2e-3, 2e-4, warmup_fraction=0.1)
    assert lr(0.0) == pytest.approx(2e-4)
    assert lr(0.05) == pytest.approx(2e-3 * (0.1 + 0.9 * 0.5))
    assert lr(0.1) == pytest.approx(2e-3)
    assert lr(0.55) == pytest.approx((2e-3 - 2e-4) * 0.5 + 2e-4)
    assert lr(1.0) == pytest.approx(2e-4)


def test_schedule_progress_by_steps_and_by_time():
    config = preset("tiny")
    config.train.steps = 200
    assert schedule_progress(config, 50, train_seconds=1e6) == pytest.approx(0.25)  # 'steps' ignores the clock
    config.train.schedule, config.train.minutes = "time", 2.0
    assert schedule_progress(config, 10, train_seconds=60.0) == pytest.approx(0.5)
    assert schedule_progress(config, 150, train_seconds=60.0) == pytest.approx(0.75)  # whichever is further
    assert schedule_progress(config, 10, train_seconds=1000.0) == 1.0



def test_clear_moments_zeroes_only_the_given_parameters():
    from jneusample.backend import jt
    from jneusample.optim import clear_moments

    a, b = jt.array([1.0, 2.0]), jt.array([3.0])
    optimizer = jt.optim.Adam([a, b], lr=0.1)
    optimizer.step((a * a).sum() + (b * b).sum())
    group = optimizer.param_groups[0]
    before_b = [group["m"][1].numpy().copy(), group["values"][1].numpy().copy()]
    assert clear_moments(optimizer, [a]) == 1
    assert not group["m"][0].numpy().any() and not group["values"][0].numpy().any()
    assert np.array_equal(group["m"][1].numpy(), before_b[0])
    assert np.array_equal(group["values"][1].numpy(), before_b[1])
    assert before_b[0].any()
